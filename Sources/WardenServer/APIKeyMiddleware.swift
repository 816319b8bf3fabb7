import HTTPTypes
import Hummingbird
import WardenGateway

/// Checks `Authorization: Bearer <key>` against the configured keys, in constant time per key.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = WardenRequestContext
    let keys: [[UInt8]]

    init(keys: [String]) {
        self.keys = keys.map { Array($0.utf8) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else { throw APIError(.unauthorized) }
        let presented = Array(header.utf8.dropFirst(7))
        // Compare against every key without stopping early, so timing does not reveal which matched.
        var matched: [UInt8]?
        for key in keys where Self.constantTimeEquals(presented, key) { matched = key }
        guard let matched else { throw APIError(.unauthorized) }
        var context = context
        context.apiKey = String(decoding: matched, as: UTF8.self)
        return try await next(request, context)
    }

    /// True when both byte strings are equal; the time taken depends on their lengths only.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        let count = max(a.count, b.count)
        for i in 0..<count {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
