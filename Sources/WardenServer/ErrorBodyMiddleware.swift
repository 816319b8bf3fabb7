import Hummingbird
import Logging
import WardenGateway

/// Turns errors that are not already Warden's `APIError` (unknown route, Hummingbird's own errors) into
/// the same JSON error body, so every non-2xx answer has `{"error": {...}}`.
struct ErrorBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: throw APIError(.notFound)
            case .contentTooLarge:
                var fault = ModerationFault.bodyTooLarge(limit: 0)
                fault.message = error.body ?? "The request body is too large."
                throw APIError(fault)
            case .methodNotAllowed: throw APIError(.methodNotAllowed("\(request.method)"))
            default: throw APIError(.httpError(status: error.status.code, error.body ?? error.status.reasonPhrase))
            }
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            throw APIError(.internalError)
        }
    }
}
