import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import WardenAPI
import WardenCore

/// `POST /v1/moderate`: decode and check the request, score it through the `Moderator`, answer in
/// OpenAI's moderation shape with per-stage timings in `Server-Timing`.
struct ModerationRoutes<Context: RequestContext>: Sendable {
    let state: EngineState
    let bundle: ModelBundle
    let configuration: ServerConfiguration

    func moderate(_ request: Request, context: Context) async throws -> Response {
        let contentType = request.headers[.contentType]
        guard let contentType, Self.isJSON(contentType) else { throw APIError.unsupportedMediaType(contentType) }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            throw APIError.bodyTooLarge(limit: configuration.maxBodyBytes)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(limit: configuration.maxBodyBytes)
        }
        if let offset = Self.firstInvalidUTF8Offset(body.readableBytesView) { throw APIError.invalidUTF8(offset: offset) }

        let decoded: WardenAPI.ModerationRequest
        do {
            decoded = try JSONDecoder().decode(WardenAPI.ModerationRequest.self, from: body)
        } catch let error as DecodingError {
            throw APIError.malformedJSON(Self.describe(error))
        } catch {
            throw APIError.malformedJSON("\(error)")
        }
        let texts = decoded.input.texts
        if case .batch(let array) = decoded.input, array.isEmpty { throw APIError.emptyInput }
        guard texts.count <= configuration.maxInputs else { throw APIError.tooManyInputs(count: texts.count, limit: configuration.maxInputs) }
        for (index, text) in texts.enumerated() where Self.hasNothingToScore(text) {
            throw APIError.emptyText(index: index)
        }
        let options = try options(for: decoded, count: texts.count)

        guard let moderator = state.moderator else { throw notReadyError() }
        let outcome: WardenCore.ModerationResponse
        do {
            outcome = try await moderator.moderate(texts, options: options)
        } catch {
            if error.code != .cancelled { context.logger.info("moderation refused", metadata: ["code": "\(error.code)"]) }
            throw APIError.from(error)
        }

        let id = "modr-\(Self.randomHex())"
        let labels = moderator.labels
        let results = outcome.results.map { result in
            WardenAPI.ModerationResult(
                flagged: result.flagged,
                categories: Dictionary(uniqueKeysWithValues: zip(labels, result.flags)),
                categoryScores: Dictionary(uniqueKeysWithValues: zip(labels, result.scores)),
                truncated: result.truncated,
                windows: result.windows)
        }
        let payload = WardenAPI.ModerationResponse(id: id, model: bundle.name, results: results)
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        headers[HTTPField.Name(WardenHeader.requestID)!] = id
        headers[HTTPField.Name(WardenHeader.serverTiming)!] = String(
            format: "tokenize;dur=%.3f, queue;dur=%.3f, inference;dur=%.3f",
            outcome.timings.tokenize.milliseconds, outcome.timings.queue.milliseconds, outcome.timings.inference.milliseconds)
        let data = try JSONEncoder().encode(payload)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Lane, deadline and thresholds from the request's Warden extras (lane and deadline checked here).
    private func options(for request: WardenAPI.ModerationRequest, count: Int) throws -> ModerationOptions {
        let lane: Lane
        switch request.lane {
        case nil: lane = count <= configuration.interactiveMaxInputs ? .interactive : .bulk
        case let name?:
            guard let chosen = Lane(rawValue: name) else { throw APIError.invalidField("lane", "must be \"interactive\" or \"bulk\" (got \"\(name)\").") }
            lane = chosen
        }
        var deadline: Duration?
        if let milliseconds = request.deadlineMs {
            guard (1...600_000).contains(milliseconds) else { throw APIError.invalidField("deadline_ms", "must be between 1 and 600000 milliseconds.") }
            deadline = .milliseconds(milliseconds)
        }
        // Threshold labels and values are checked by the Moderator (one rule for server and CLI);
        // its `invalidThreshold` error maps to 422 `invalid_thresholds`.
        return ModerationOptions(lane: lane, deadline: deadline, thresholds: request.thresholds ?? [:])
    }

    func notReadyError() -> APIError {
        switch state.phase {
        case .failed(let reason): return .notReady("The model is not available: \(reason)")
        default: return .notReady("The model is loading and warming up; retry shortly.")
        }
    }

    /// True when the tokenizer would keep nothing of the text: only whitespace, control and format
    /// characters, NUL or U+FFFD (BERT's cleaning drops all of these).
    static func hasNothingToScore(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator: return true
            default: return scalar.properties.isWhitespace || scalar.value == 0xFFFD
            }
        }
    }

    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }

    /// Byte offset of the first invalid UTF-8 sequence, or nil when the bytes are valid UTF-8.
    static func firstInvalidUTF8Offset(_ bytes: ByteBufferView) -> Int? {
        if String(validating: bytes, as: UTF8.self) != nil { return nil }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let joined = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return joined.isEmpty ? "body" : String(joined.drop { $0 == "." })
        }
        switch error {
        case .typeMismatch(_, let context): return "\(path(context)) has the wrong type (\(context.debugDescription))"
        case .valueNotFound(_, let context): return "\(path(context)) is null"
        case .keyNotFound(let key, _): return "missing required field `\(key.stringValue)`"
        case .dataCorrupted(let context): return context.codingPath.isEmpty ? "the body is not JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
