import Foundation
import HTTPTypes
import Hummingbird
import WardenAPI
import WardenGateway

/// A ``ModerationFault`` rendered as HTTP: its status, OpenAI's JSON error body
/// `{"error": {"message", "type", "param", "code"}}` and `Retry-After` where the fault says when to retry.
/// Every error Warden answers over HTTP is a fault of the gateway's one catalogue; this type only renders it.
public struct APIError: HTTPResponseError, Sendable {
    public let fault: ModerationFault
    /// Extra headers (`WWW-Authenticate`).
    public var headers: HTTPFields = [:]

    public init(_ fault: ModerationFault) {
        self.fault = fault
        if fault.code == .invalidAPIKey { headers[.wwwAuthenticate] = "Bearer" }
    }

    public var status: HTTPResponse.Status {
        fault.status == 499 ? .init(code: 499, reasonPhrase: "Client Closed Request") : .init(code: fault.status)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        if let retryAfter = fault.retryAfter { headers[.retryAfter] = String(max(1, Int((retryAfter / .seconds(1)).rounded(.up)))) }
        let data =
            (try? JSONEncoder.warden.encode(fault.body))
            ?? Data(#"{"error":{"message":"error","type":"server_error","param":null,"code":"internal_error"}}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
