import ArgumentParser
import Foundation
import Logging
import TorchBackend
import WardenCore

/// The engine's defaults, quoted by every help text (one source: the configuration types).
private let engineDefaults = EngineConfiguration()
private let runtimeDefaults = TorchRuntimeSettings.default

/// Model and runtime options common to `serve`, `score`, `worker` and `tune`.
struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("model"), help: "Model bundle folder (env WARDEN_MODEL; default \(ResourceLocator.defaultModel)).")
    var modelDirectory: String?

    @Option(help: "Backend workers: model copies running batches in parallel (env WARDEN_WORKERS; default \(engineDefaults.workers)).")
    var workers: Int?

    @Option(help: "torch intra-op threads per forward (env WARDEN_TORCH_THREADS; default \(runtimeDefaults.intraOpThreads)).")
    var torchThreads: Int?

    @Option(help: "OpenBLAS threads for fp32 matrix products (env WARDEN_BLAS_THREADS; default \(TorchRuntimeSettings.defaultBLASThreads(workers: 2)) per worker with several workers, \(TorchRuntimeSettings.defaultBLASThreads(workers: 1)) with one).")
    var blasThreads: Int?

    @Flag(help: "Enable TorchScript graph-executor optimisation (env WARDEN_GRAPH_OPTIMIZATION; default off).")
    var graphOptimization = false

    @Option(help: "Precision to compute in: auto (time the model's forwards in its stored precision and in fp32 at start-up, take the faster), bf16 (as a bf16 model is stored) or fp32 (converted at load) (env WARDEN_PRECISION; default \(PrecisionPolicy.auto)).")
    var precision: String?

    func resolvedModelDirectory() -> String {
        Setting.resolve(modelDirectory, env: "WARDEN_MODEL") ?? ResourceLocator.path(ResourceLocator.defaultModel)
    }

    func resolvedWorkers() throws -> Int {
        let workers = try Setting.resolve(workers, env: "WARDEN_WORKERS", default: engineDefaults.workers)
        guard (1...EngineConfiguration.maxWorkers).contains(workers) else {
            throw ValidationError("--workers must be between 1 and \(EngineConfiguration.maxWorkers)")
        }
        return workers
    }

    func runtimeSettings() throws -> TorchRuntimeSettings {
        let workers = try resolvedWorkers()
        let torch = try Setting.resolve(torchThreads, env: "WARDEN_TORCH_THREADS", default: runtimeDefaults.intraOpThreads)
        let blas = try Setting.resolve(blasThreads, env: "WARDEN_BLAS_THREADS", default: TorchRuntimeSettings.defaultBLASThreads(workers: workers))
        guard torch >= 1, blas >= 1 else { throw ValidationError("thread counts must be at least 1") }
        return TorchRuntimeSettings(intraOpThreads: torch, interOpThreads: 1, blasThreads: blas,
                                    graphOptimization: try Setting.resolveFlag(graphOptimization, env: "WARDEN_GRAPH_OPTIMIZATION"))
    }

    /// `--precision` / `WARDEN_PRECISION`, else auto.
    func resolvedPrecision() throws -> PrecisionPolicy {
        let name = Setting.resolve(precision, env: "WARDEN_PRECISION") ?? PrecisionPolicy.auto.rawValue
        guard let policy = PrecisionPolicy(rawValue: name.lowercased()), PrecisionPolicy.commandLineChoices.contains(policy) else {
            throw ValidationError("--precision must be one of \(PrecisionPolicy.commandLineChoices.map(\.rawValue).joined(separator: ", ")) (got \"\(name)\")")
        }
        return policy
    }

    /// The TorchScript backends of this command's model, with its thread settings and precision policy;
    /// the precision plan is logged to `logger`.
    func backendFactory(logger: Logger) throws -> TorchBackendFactory {
        TorchBackendFactory(runtime: try runtimeSettings(), precision: try resolvedPrecision(), logger: logger)
    }
}

/// Batching options shared by `serve`, `score` and `tune`.
struct BatchingOptions: ParsableArguments {
    @Option(help: "Most items in one model call (env WARDEN_MAX_BATCH_SIZE; default \(engineDefaults.batching.maxBatchSize)).")
    var maxBatchSize: Int?

    @Option(help: "Most padded tokens (items x longest) in one model call (env WARDEN_MAX_BATCH_TOKENS; default \(engineDefaults.batching.maxBatchTokens)).")
    var maxBatchTokens: Int?

    @Option(help: "Least padding efficiency (real / padded tokens) an item may bring a batch down to, 0 turns it off (env WARDEN_MIN_PADDING_EFFICIENCY; default \(engineDefaults.batching.minPaddingEfficiency)).")
    var minPaddingEfficiency: Double?

    @Option(help: "Sequence packing: 'auto' packs several messages into each model row when the model declares a packed entry point, 'off' always pads (env WARDEN_PACKING; default \(engineDefaults.batching.packing.rawValue)).")
    var packing: String?

    @Option(help: "Tokens per packed model row (env WARDEN_PACKED_ROW_TOKENS; default \(engineDefaults.batching.packedRowTokens)).")
    var packedRowTokens: Int?

    @Option(help: "Longest wait of an interactive item for a fuller batch, ms (env WARDEN_MAX_QUEUE_DELAY_MS; default \(Self.ms(engineDefaults.batching.interactive.maxQueueDelay))).")
    var maxQueueDelayMs: Double?

    @Option(help: "Longest wait of a bulk item for a fuller batch, ms (env WARDEN_BULK_MAX_QUEUE_DELAY_MS; default \(Self.ms(engineDefaults.batching.bulk.maxQueueDelay))).")
    var bulkMaxQueueDelayMs: Double?

    @Option(help: "Longest a bulk batch may take at the measured rate, ms, so that chat messages wait behind little bulk work; 0 turns the cap off (env WARDEN_BULK_MAX_BATCH_MS; default \(Self.ms(engineDefaults.batching.maxBulkBatchTime))).")
    var bulkMaxBatchMs: Double?

    @Option(help: "Default deadline of interactive requests, ms (env WARDEN_INTERACTIVE_DEADLINE_MS; default \(Self.ms(engineDefaults.batching.interactive.defaultDeadline))).")
    var interactiveDeadlineMs: Int?

    @Option(help: "Default deadline of bulk requests, ms (env WARDEN_BULK_DEADLINE_MS; default \(Self.ms(engineDefaults.batching.bulk.defaultDeadline))).")
    var bulkDeadlineMs: Int?

    @Option(help: "Longest deadline an interactive request may ask for, ms (env WARDEN_INTERACTIVE_MAX_DEADLINE_MS; default \(Self.ms(engineDefaults.batching.interactive.maxDeadline))).")
    var interactiveMaxDeadlineMs: Int?

    @Option(help: "Longest deadline a bulk request may ask for, ms (env WARDEN_BULK_MAX_DEADLINE_MS; default \(Self.ms(engineDefaults.batching.bulk.maxDeadline))).")
    var bulkMaxDeadlineMs: Int?

    @Option(help: "The interactive lane's budget: most tokens waiting in it (env WARDEN_INTERACTIVE_MAX_QUEUED_TOKENS; default \(engineDefaults.batching.interactive.maxQueuedTokens)).")
    var interactiveMaxQueuedTokens: Int?

    @Option(help: "Most tokens one interactive request may cost; a larger one is refused, or sent to bulk when it named no lane (env WARDEN_INTERACTIVE_MAX_REQUEST_TOKENS; default \(engineDefaults.batching.interactive.maxRequestTokens)).")
    var interactiveMaxRequestTokens: Int?

    @Option(help: "Most tokens one bulk request may take of the queue (env WARDEN_BULK_MAX_REQUEST_TOKENS; default \(engineDefaults.batching.bulk.maxRequestTokens)).")
    var bulkMaxRequestTokens: Int?

    @Option(help: "Admission bound: most items waiting (env WARDEN_MAX_QUEUED_ITEMS; default \(engineDefaults.batching.maxQueuedItems)).")
    var maxQueuedItems: Int?

    @Option(help: "Admission bound: most tokens waiting, both lanes; also the bulk lane's budget (env WARDEN_MAX_QUEUED_TOKENS; default \(engineDefaults.batching.maxQueuedTokens)).")
    var maxQueuedTokens: Int?

    @Option(help: "Texts longer than the model: 'windows' (score overlapping windows, take the max) or 'truncate' (env WARDEN_LONG_TEXT; default windows).")
    var longText: String?

    @Option(help: "Most windows scored per long text (env WARDEN_MAX_WINDOWS; default \(engineDefaults.moderator.maxWindowsPerText)).")
    var maxWindows: Int?

    @Flag(help: "Flag a text that was only partly scored (longer than --max-windows cover) whatever its scores (env WARDEN_FLAG_PARTIAL; default off).")
    var flagPartial = false

    @Option(help: "Entries in the cache of recent results, 0 turns it off (env WARDEN_CACHE_SIZE; default \(engineDefaults.moderator.cacheCapacity)).")
    var cacheSize: Int?

    /// A duration as the whole milliseconds a help text shows.
    static func ms(_ duration: Duration) -> String {
        let value = duration.milliseconds
        return value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// The engine configuration these flags (and their environment variables) describe, for `workers`.
    func configuration(workers: Int) throws -> EngineConfiguration {
        var config = EngineConfiguration()
        config.workers = workers
        var batching = config.batching
        batching.maxBatchSize = try Setting.resolve(maxBatchSize, env: "WARDEN_MAX_BATCH_SIZE", default: batching.maxBatchSize)
        batching.maxBatchTokens = try Setting.resolve(maxBatchTokens, env: "WARDEN_MAX_BATCH_TOKENS", default: batching.maxBatchTokens)
        batching.minPaddingEfficiency = try Setting.resolve(minPaddingEfficiency, env: "WARDEN_MIN_PADDING_EFFICIENCY", default: batching.minPaddingEfficiency)
        let packingName = Setting.resolve(packing, env: "WARDEN_PACKING") ?? batching.packing.rawValue
        guard let packingMode = BatchingConfiguration.Packing(rawValue: packingName) else {
            throw ValidationError("--packing must be one of \(BatchingConfiguration.Packing.allCases.map(\.rawValue).joined(separator: ", ")) (got \"\(packingName)\")")
        }
        batching.packing = packingMode
        batching.packedRowTokens = try Setting.resolve(packedRowTokens, env: "WARDEN_PACKED_ROW_TOKENS", default: batching.packedRowTokens)
        batching.interactive.maxQueueDelay = try Setting.resolveMilliseconds(
            maxQueueDelayMs, env: "WARDEN_MAX_QUEUE_DELAY_MS", default: batching.interactive.maxQueueDelay, flagName: "--max-queue-delay-ms")
        batching.bulk.maxQueueDelay = try Setting.resolveMilliseconds(
            bulkMaxQueueDelayMs, env: "WARDEN_BULK_MAX_QUEUE_DELAY_MS", default: batching.bulk.maxQueueDelay, flagName: "--bulk-max-queue-delay-ms")
        batching.maxBulkBatchTime = try Setting.resolveMilliseconds(
            bulkMaxBatchMs, env: "WARDEN_BULK_MAX_BATCH_MS", default: batching.maxBulkBatchTime, flagName: "--bulk-max-batch-ms")
        batching.interactive.defaultDeadline = .milliseconds(try Setting.resolve(
            interactiveDeadlineMs, env: "WARDEN_INTERACTIVE_DEADLINE_MS", default: Int(batching.interactive.defaultDeadline.milliseconds)))
        batching.bulk.defaultDeadline = .milliseconds(try Setting.resolve(
            bulkDeadlineMs, env: "WARDEN_BULK_DEADLINE_MS", default: Int(batching.bulk.defaultDeadline.milliseconds)))
        batching.maxQueuedItems = try Setting.resolve(maxQueuedItems, env: "WARDEN_MAX_QUEUED_ITEMS", default: batching.maxQueuedItems)
        batching.maxQueuedTokens = try Setting.resolve(maxQueuedTokens, env: "WARDEN_MAX_QUEUED_TOKENS", default: batching.maxQueuedTokens)
        batching.bulk.maxQueuedTokens = batching.maxQueuedTokens
        batching.interactive.maxDeadline = .milliseconds(try Setting.resolve(
            interactiveMaxDeadlineMs, env: "WARDEN_INTERACTIVE_MAX_DEADLINE_MS", default: Int(batching.interactive.maxDeadline.milliseconds)))
        batching.bulk.maxDeadline = .milliseconds(try Setting.resolve(
            bulkMaxDeadlineMs, env: "WARDEN_BULK_MAX_DEADLINE_MS", default: Int(batching.bulk.maxDeadline.milliseconds)))
        batching.interactive.maxQueuedTokens = try Setting.resolve(
            interactiveMaxQueuedTokens, env: "WARDEN_INTERACTIVE_MAX_QUEUED_TOKENS", default: batching.interactive.maxQueuedTokens)
        batching.interactive.maxRequestTokens = try Setting.resolve(
            interactiveMaxRequestTokens, env: "WARDEN_INTERACTIVE_MAX_REQUEST_TOKENS", default: batching.interactive.maxRequestTokens)
        // By default one bulk request may take half of the bulk budget, whatever that budget is.
        batching.bulk.maxRequestTokens = try Setting.resolve(
            bulkMaxRequestTokens, env: "WARDEN_BULK_MAX_REQUEST_TOKENS",
            default: min(batching.bulk.maxRequestTokens, max(batching.bulk.maxQueuedTokens / 2, 1)))
        config.batching = batching

        switch Setting.resolve(longText, env: "WARDEN_LONG_TEXT") ?? "windows" {
        case "windows": break
        case "truncate": config.moderator.longTextPolicy = .truncate
        case let other: throw ValidationError("--long-text must be 'windows' or 'truncate' (got '\(other)')")
        }
        config.moderator.maxWindowsPerText = try Setting.resolve(maxWindows, env: "WARDEN_MAX_WINDOWS", default: config.moderator.maxWindowsPerText)
        config.moderator.cacheCapacity = try Setting.resolve(cacheSize, env: "WARDEN_CACHE_SIZE", default: config.moderator.cacheCapacity)
        config.moderator.flagPartiallyScored = try Setting.resolveFlag(flagPartial, env: "WARDEN_FLAG_PARTIAL")
        return config
    }
}

/// Log level from `--log-level` / `WARDEN_LOG_LEVEL`, else `fallback`.
func resolveLogLevel(_ flag: String?, default fallback: Logger.Level = .info) throws -> Logger.Level {
    let raw = Setting.resolve(flag, env: "WARDEN_LOG_LEVEL") ?? fallback.rawValue
    guard let level = Logger.Level(rawValue: raw.lowercased()) else {
        throw ValidationError("log level must be one of trace, debug, info, notice, warning, error, critical (got '\(raw)')")
    }
    return level
}

/// Sends swift-log output to standard error at `level` (once per process).
func bootstrapLogging(level: Logger.Level) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
