import Logging
import ServiceLifecycle
import WardenCore
import WordPiece

/// Loads the model's backends, warms them up, flips readiness, then runs the batcher until graceful
/// shutdown. The HTTP server answers 503 `not_ready` until the warm-up is done.
///
/// - Important: Place this service *before* the HTTP server in the service group: ServiceLifecycle shuts
///   services down in reverse order, so the server stops accepting and finishes its requests first,
///   and only then does the batcher drain and stop.
struct ModelService: Service {
    let bundle: ModelBundle
    let tokenizer: WordPieceTokenizer
    let batching: BatchingConfiguration
    let warmUpTexts: [String]
    let makeBackends: @Sendable (ModelBundle) async throws -> [any InferenceBackend]
    let state: EngineState
    let logger: Logger

    func run() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let backends: [any InferenceBackend]
        do {
            backends = try await makeBackends(bundle)
        } catch {
            state.markFailed("model failed to load: \(error)")
            logger.critical("model failed to load", metadata: ["model": "\(bundle.modelPath)", "error": "\(error)"])
            throw error
        }
        let batcher = try Batcher(backends: backends, configuration: batching, maxSequenceLength: bundle.maxSequenceLength,
                                  padID: tokenizer.padID, logger: logger)
        let moderator = try Moderator(tokenizer: tokenizer, bundle: bundle, batcher: batcher)
        logger.info("model loaded", metadata: [
            "model": "\(bundle.name)", "version": "\(bundle.version)", "precision": "\(bundle.precision)",
            "workers": "\(backends.count)", "load_ms": "\((clock.now - start).milliseconds)",
        ])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await batcher.run() }
            if !warmUpTexts.isEmpty {
                let warmStart = clock.now
                // One text at a time (so even tiny admission bounds accept them), several sequence lengths.
                do {
                    for text in warmUpTexts {
                        _ = try await moderator.moderate([text], options: ModerationOptions(lane: .interactive, deadline: .seconds(300)))
                    }
                } catch {
                    state.markFailed("warm-up failed: \(error)")
                    logger.critical("warm-up failed", metadata: ["error": "\(error)"])
                    throw error
                }
                logger.info("warm-up done", metadata: ["warmup_ms": "\((clock.now - warmStart).milliseconds)"])
            }
            state.markReady(moderator)
            try await group.next()
        }
    }
}
