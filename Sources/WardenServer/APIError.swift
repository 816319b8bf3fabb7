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

    static func malformedJSON(_ detail: String, param: String? = nil) -> APIError {
        APIError(status: .badRequest, code: .invalidJSON, message: "The request body is not valid JSON for this endpoint: \(detail)", param: param)
    }
    static func invalidUTF8(offset: Int) -> APIError {
        APIError(status: .badRequest, code: .invalidUTF8, message: "The request body is not valid UTF-8 (first bad byte at offset \(offset)).")
    }
    static let emptyInput = APIError(status: .badRequest, code: .emptyInput, message: "`input` is an empty array; send at least one text.",
                                     param: "input")
    static func emptyText(index: Int) -> APIError {
        APIError(status: .badRequest, code: .emptyText,
                 message: "input[\(index)] is empty or holds only whitespace, control, format or private-use characters once normalised; there is nothing to score.",
                 param: "input[\(index)]")
    }
    static func unsupportedInputType(index: Int, type: String) -> APIError {
        APIError(status: .badRequest, code: .unsupportedInputType,
                 message: "input[\(index)] is a content part of type \"\(type)\"; Warden scores text only (send {\"type\": \"text\", \"text\": …} parts).",
                 param: "input[\(index)]")
    }
    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, code: .bodyTooLarge, message: "The request body exceeds the limit of \(limit) bytes; split it into several requests.")
    }
    static func tooManyInputs(count: Int, limit: Int) -> APIError {
        APIError(status: .unprocessableContent, code: .tooManyInputs, message: "`input` holds \(count) texts; the limit is \(limit) per request.",
                 param: "input")
    }
    static func invalidField(_ code: WardenErrorCode, _ field: String, _ problem: String) -> APIError {
        APIError(status: .unprocessableContent, code: code, message: "`\(field)` \(problem)", param: field)
    }
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
    static func notReady(_ reason: String) -> APIError {
        var error = APIError(status: .serviceUnavailable, code: .notReady, type: "server_error", message: reason)
        error.headers[.retryAfter] = "1"
        return error
    }
    static let notFound = APIError(status: .notFound, code: .notFound, message: "No such endpoint.")
    /// The client went away; nobody reads this answer.
    static let clientClosed = APIError(status: .init(code: 499, reasonPhrase: "Client Closed Request"), code: .cancelled,
                                       message: "The request was cancelled because the client went away.")
    static let incompleteBody = APIError(status: .badRequest, code: .incompleteBody,
                                         message: "The request body was not received completely (the connection closed or it took too long).")
    static func duplicateKey(_ path: String) -> APIError {
        APIError(status: .badRequest, code: .duplicateKey,
                 message: "The request body names `\(path)` twice; JSON parsers disagree on which one counts, so Warden refuses it.",
                 param: path)
    }

    /// The engine's errors, as HTTP.
    static func from(_ error: ModerationError) -> APIError {
        switch error.code {
        case .overloaded:
            var api = APIError(status: .tooManyRequests, code: .overloaded, type: "rate_limit_error", message: error.description)
            let seconds = error.retryAfter.map { max(1, Int(($0 / .seconds(1)).rounded(.up))) } ?? 1
            api.headers[.retryAfter] = String(seconds)
            return api
        case .requestTooLarge:
            return APIError(status: .contentTooLarge, code: .requestTooLarge, message: error.description)
        case .deadlineExceeded:
            return APIError(status: .gatewayTimeout, code: .deadlineExceeded, type: "timeout_error", message: error.description)
        case .invalidThreshold:
            return APIError(status: .unprocessableContent, code: .invalidThresholds, message: error.description, param: "thresholds")
        case .emptyText:
            return emptyText(index: error.textIndex ?? 0)
        case .shuttingDown:
            var api = APIError(status: .serviceUnavailable, code: .shuttingDown, type: "server_error", message: error.description)
            api.headers[.retryAfter] = "1"
            return api
        case .cancelled:
            return clientClosed
        default:
            return APIError(status: .internalServerError, code: .inferenceFailed, type: "server_error", message: error.description)
        }
    }
}
