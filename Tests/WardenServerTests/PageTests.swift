import Foundation
import Testing
import WardenServer
import WardenTestSupport

/// `GET /`: one self-contained page, off with `servesPage = false` (`--no-ui`). The page itself is driven in a
/// real browser by Tests/Browser (scripts/test_page_browser.sh).
@Suite("The page at GET /", .serialized, .timeLimit(.minutes(3)))
struct PageTests {
    @Test("the page is served as HTML, with no external asset, without an API key even when keys are set")
    func served() async throws {
        try await withWarden(configure: { $0.server.apiKeys = ["a-key-long-enough-for-warden"] }) { base in
            let reply = try await HTTP.get(base + "/")
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "text/html; charset=utf-8")
            let html = reply.text
            #expect(html.hasPrefix("<!doctype html>"))
            #expect(html.contains(#"<meta name="viewport""#))
            // Inline only: no script, style sheet, image or font fetched from anywhere.
            for pattern in [#"src=""#, #"href=""#, "@import", "url("] { #expect(!html.contains(pattern), "\(pattern)") }
            // It calls the public API only, with the key of the session.
            for path in ["/v1/models", "/v1/policies", "/v1/moderations", "/metrics"] { #expect(html.contains(#""\#(path)""#)) }
            #expect(html.contains("sessionStorage") && !html.contains("localStorage"))
            // The API itself still asks for the key.
            let models = try await HTTP.get(base + "/v1/models")
            #expect(models.status == 401)
        }
    }

    @Test("with the page turned off, GET / is 404")
    func off() async throws {
        try await withWarden(configure: { $0.server.servesPage = false }) { base in
            let page = try await HTTP.get(base + "/")
            #expect(page.status == 404)
        }
    }
}
