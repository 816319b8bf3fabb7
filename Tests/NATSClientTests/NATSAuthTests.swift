import Foundation
import NATSClient
import Testing
import WardenTestSupport

/// Credentials from the settings a user gives: one kind at most, a user with a password, a readable seed.
@Suite("NATS credentials")
struct NATSAuthTests {
    @Test("one kind of credentials is chosen; none is no authentication")
    func oneKind() throws {
        guard case .none = try NATSAuth(token: nil, user: nil, password: nil, credentialsFile: nil, nkeyFile: nil) else {
            Issue.record("expected no credentials")
            return
        }
        guard case .token("t0k3n") = try NATSAuth(token: "t0k3n", user: nil, password: nil, credentialsFile: nil, nkeyFile: nil) else {
            Issue.record("expected the token")
            return
        }
        guard case .userPassword("ann", "secret") = try NATSAuth(token: nil, user: "ann", password: "secret", credentialsFile: nil, nkeyFile: nil)
        else {
            Issue.record("expected user and password")
            return
        }
        let folder = try TempFolder()
        let seed = try folder.write("user.nk", "SUAEXAMPLESEED\n")
        guard case .nkey("SUAEXAMPLESEED") = try NATSAuth(token: nil, user: nil, password: nil, credentialsFile: nil, nkeyFile: seed) else {
            Issue.record("expected the seed, trimmed")
            return
        }
    }

    @Test("two kinds, a user without a password and an unreadable seed file are refused")
    func refusals() {
        #expect(throws: NATSAuthError.self) { try NATSAuth(token: "t", user: "ann", password: "p", credentialsFile: nil, nkeyFile: nil) }
        #expect(throws: NATSAuthError.self) { try NATSAuth(token: nil, user: "ann", password: nil, credentialsFile: nil, nkeyFile: nil) }
        #expect(throws: NATSAuthError.self) { try NATSAuth(token: nil, user: nil, password: nil, credentialsFile: nil, nkeyFile: "/nonexistent/seed") }
    }
}
