import Foundation
import HTTPTypes
import Hummingbird
import WardenAPI
import WardenCore

/// Every error Warden answers over HTTP, mapped in one place to a status and the JSON body
/// `{"error": {"message", "type", "code"}}`.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let type: String
    public let message: String
    /// Extra headers (e.g. `Retry-After`).
    public var headers: HTTPFields = [:]

    public init(status: HTTPResponse.Status, code: String, type: String = "invalid_request_error", message: String) {
        self.status = status
        self.code = code
        self.type = type
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        let body = ErrorResponse(message: message, type: type, code: code)
        let data = (try? JSONEncoder().encode(body)) ?? Data(#"{"error":{"message":"error","type":"server_error","code":"internal"}}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: The catalogue

    static func malformedJSON(_ detail: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_json", message: "The request body is not valid JSON for this endpoint: \(detail)")
    }
    static func invalidUTF8(offset: Int) -> APIError {
        APIError(status: .badRequest, code: "invalid_utf8", message: "The request body is not valid UTF-8 (first bad byte at offset \(offset)).")
    }
    static let emptyInput = APIError(status: .badRequest, code: "empty_input", message: "`input` is an empty array; send at least one text.")
    static func emptyText(index: Int) -> APIError {
        APIError(status: .badRequest, code: "empty_text", message: "input[\(index)] is empty or holds only whitespace/control characters; there is nothing to score.")
    }
    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, code: "body_too_large", message: "The request body exceeds the limit of \(limit) bytes; split it into several requests.")
    }
    static func tooManyInputs(count: Int, limit: Int) -> APIError {
        APIError(status: .unprocessableContent, code: "too_many_inputs", message: "`input` holds \(count) texts; the limit is \(limit) per request.")
    }
    static func invalidField(_ field: String, _ problem: String) -> APIError {
        APIError(status: .unprocessableContent, code: "invalid_\(field)", message: "`\(field)` \(problem)")
    }
    static func unsupportedMediaType(_ got: String?) -> APIError {
        APIError(status: .unsupportedMediaType, code: "unsupported_media_type",
                 message: "Send the body as JSON with `Content-Type: application/json` (got \(got.map { "`\($0)`" } ?? "none")).")
    }
    static let unauthorized: APIError = {
        var error = APIError(status: .unauthorized, code: "invalid_api_key", type: "authentication_error",
                             message: "Missing or wrong API key; send `Authorization: Bearer <key>`.")
        error.headers[.wwwAuthenticate] = "Bearer"
        return error
    }()
    static func notReady(_ reason: String) -> APIError {
        var error = APIError(status: .serviceUnavailable, code: "not_ready", type: "server_error", message: reason)
        error.headers[.retryAfter] = "1"
        return error
    }
    static let notFound = APIError(status: .notFound, code: "not_found", message: "No such endpoint.")

    /// The engine's errors, as HTTP.
    static func from(_ error: ModerationError) -> APIError {
        switch error.code {
        case .overloaded:
            var api = APIError(status: .tooManyRequests, code: "overloaded", type: "rate_limit_error", message: error.description)
            let seconds = error.retryAfter.map { max(1, Int(($0 / .seconds(1)).rounded(.up))) } ?? 1
            api.headers[.retryAfter] = String(seconds)
            return api
        case .requestTooLarge:
            return APIError(status: .contentTooLarge, code: "request_too_large", message: error.description)
        case .deadlineExceeded:
            return APIError(status: .gatewayTimeout, code: "deadline_exceeded", type: "timeout_error", message: error.description)
        case .invalidThreshold:
            return APIError(status: .unprocessableContent, code: "invalid_thresholds", message: error.description)
        case .shuttingDown:
            var api = APIError(status: .serviceUnavailable, code: "shutting_down", type: "server_error", message: error.description)
            api.headers[.retryAfter] = "1"
            return api
        case .cancelled:
            // The client went away; nobody reads this answer.
            return APIError(status: .init(code: 499, reasonPhrase: "Client Closed Request"), code: "cancelled", message: error.description)
        default:
            return APIError(status: .internalServerError, code: "inference_failed", type: "server_error", message: error.description)
        }
    }
}
