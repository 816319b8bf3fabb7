import Hummingbird
import NIOCore

extension WardenRoutes {
    /// `GET /`: the page to try moderation in a browser (``WardenPage``). It calls the public API only.
    func addPage(to router: Router<Context>) {
        router.get("/") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(string: WardenPage.html)))
        }
    }
}
