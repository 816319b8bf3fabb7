import Foundation
import HTTPTypes
import Hummingbird
import WardenAPI
import WardenCore

/// Every error Warden answers over HTTP, mapped in one place to a status and OpenAI's JSON error body
/// `{"error": {"message", "type", "param", "code"}}`.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let type: String
    public let message: String
    /// The request field at fault (`input`, `input[3]`, `thresholds`, …), when one is.
    public var param: String?
    /// Extra headers (e.g. `Retry-After`).
    public var headers: HTTPFields = [:]

    public init(status: HTTPResponse.Status, code: WardenErrorCode, type: String = "invalid_request_error", message: String,
                param: String? = nil) {
        self.status = status
        self.code = code.rawValue
        self.type = type
        self.message = message
        self.param = param
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        let body = ErrorResponse(message: message, type: type, code: code, param: param)
        let data = (try? JSONEncoder.warden.encode(body)) ?? Data(#"{"error":{"message":"error","type":"server_error","param":null,"code":"internal_error"}}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: The catalogue

    static func methodNotAllowed(_ method: HTTPRequest.Method) -> APIError {
        APIError(status: .methodNotAllowed, code: .methodNotAllowed, message: "This endpoint does not accept \(method).")
    }
    static let internalError = APIError(status: .internalServerError, code: .internalError, type: "server_error",
                                        message: "Internal error; see the server log.")
    static func unsupportedMediaType(_ got: String?) -> APIError {
        APIError(status: .unsupportedMediaType, code: .unsupportedMediaType,
                 message: "Send the body as JSON with `Content-Type: application/json` (got \(got.map { "`\($0)`" } ?? "none")).")
    }
    static let unauthorized: APIError = {
        var error = APIError(status: .unauthorized, code: .invalidAPIKey, type: "authentication_error",
                             message: "Missing or wrong API key; send `Authorization: Bearer <key>`.")
        error.headers[.wwwAuthenticate] = "Bearer"
        return error
    }()
    static func notReady(_ reason: String) -> APIError { APIError(ModerationFault.notReady(reason)) }
    static let notFound = APIError(status: .notFound, code: .notFound, message: "No such endpoint.")
    /// The client went away; nobody reads this answer.
    static let clientClosed = APIError(ModerationFault.clientClosed)
    static let incompleteBody = APIError(status: .badRequest, code: .incompleteBody,
                                         message: "The request body was not received completely (the connection closed or it took too long).")
    /// A refusal of the shared request mapping (``ModerationCall``) or of the engine, as HTTP; `Retry-After`
    /// in whole seconds where the fault says when to retry.
    init(_ fault: ModerationFault) {
        let status: HTTPResponse.Status = fault.status == 499 ? .init(code: 499, reasonPhrase: "Client Closed Request") : .init(code: fault.status)
        self.init(status: status, code: fault.code, type: fault.type, message: fault.message, param: fault.param)
        if let retryAfter = fault.retryAfter { headers[.retryAfter] = String(max(1, Int((retryAfter / .seconds(1)).rounded(.up)))) }
    }

    static func bodyTooLarge(limit: Int) -> APIError { APIError(ModerationFault.bodyTooLarge(limit: limit)) }
}
