import ArgumentParser
import Foundation
import Logging
import TorchBackend
import WardenCore

/// Model and runtime options shared by `serve`, `score` and `tune`.
struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("model"), help: "Model bundle folder (env WARDEN_MODEL; default models/minilm-moderation).")
    var modelDirectory: String?

    @Option(help: "Backend workers: model copies running batches in parallel (env WARDEN_WORKERS; default 2).")
    var workers: Int?

    @Option(help: "torch intra-op threads per forward (env WARDEN_TORCH_THREADS; default 1).")
    var torchThreads: Int?

    @Option(help: "OpenBLAS threads for fp32 matrix products (env WARDEN_BLAS_THREADS; default 1 per worker with several workers, 2 with one).")
    var blasThreads: Int?

    @Flag(help: "Enable TorchScript graph-executor optimisation (env WARDEN_GRAPH_OPTIMIZATION; default off).")
    var graphOptimization = false

    func resolvedModelDirectory() -> String {
        Setting.resolve(modelDirectory, env: "WARDEN_MODEL") ?? ModelLocator.defaultModelDirectory()
    }

    func resolvedWorkers() throws -> Int {
        let workers = try Setting.resolve(workers, env: "WARDEN_WORKERS", default: TorchRuntimeSettings.defaultWorkers)
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be between 1 and 64") }
        return workers
    }

    func runtimeSettings() throws -> TorchRuntimeSettings {
        let workers = try resolvedWorkers()
        let torch = try Setting.resolve(torchThreads, env: "WARDEN_TORCH_THREADS", default: TorchRuntimeSettings.default.intraOpThreads)
        let blas = try Setting.resolve(blasThreads, env: "WARDEN_BLAS_THREADS", default: workers > 1 ? 1 : 2)
        guard torch >= 1, blas >= 1 else { throw ValidationError("thread counts must be at least 1") }
        return TorchRuntimeSettings(intraOpThreads: torch, interOpThreads: 1, blasThreads: blas,
                                    graphOptimization: try Setting.resolveFlag(graphOptimization, env: "WARDEN_GRAPH_OPTIMIZATION"))
    }

    /// Loads one TorchScript backend per worker, each on its own thread.
    static func loadBackends(bundle: ModelBundle, workers: Int) async throws -> [any InferenceBackend] {
        var backends: [any InferenceBackend] = []
        for _ in 0..<workers {
            backends.append(try await TorchBackend.load(path: bundle.modelPath, expectedLabels: bundle.labels.count))
        }
        return backends
    }
}

/// Batching options shared by `serve`, `score` and `tune`.
struct BatchingOptions: ParsableArguments {
    @Option(help: "Most items in one model call (env WARDEN_MAX_BATCH_SIZE; default 32).")
    var maxBatchSize: Int?

    @Option(help: "Most padded tokens (items x longest) in one model call (env WARDEN_MAX_BATCH_TOKENS; default 4096).")
    var maxBatchTokens: Int?

    @Option(help: "Least padding efficiency (real / padded tokens) an item may bring a batch down to, 0 turns it off (env WARDEN_MIN_PADDING_EFFICIENCY; default 0.9).")
    var minPaddingEfficiency: Double?

    @Option(help: "Longest wait of an interactive item for a fuller batch, ms (env WARDEN_MAX_QUEUE_DELAY_MS; default 2).")
    var maxQueueDelayMs: Double?

    @Option(help: "Longest wait of a bulk item for a fuller batch, ms (env WARDEN_BULK_MAX_QUEUE_DELAY_MS; default 10).")
    var bulkMaxQueueDelayMs: Double?

    @Option(help: "Default deadline of interactive requests, ms (env WARDEN_INTERACTIVE_DEADLINE_MS; default 2000).")
    var interactiveDeadlineMs: Int?

    @Option(help: "Default deadline of bulk requests, ms (env WARDEN_BULK_DEADLINE_MS; default 60000).")
    var bulkDeadlineMs: Int?

    @Option(help: "Admission bound: most items waiting (env WARDEN_MAX_QUEUED_ITEMS; default 8192).")
    var maxQueuedItems: Int?

    @Option(help: "Admission bound: most tokens waiting (env WARDEN_MAX_QUEUED_TOKENS; default 524288).")
    var maxQueuedTokens: Int?

    @Option(help: "Texts longer than the model: 'windows' (score overlapping windows, take the max) or 'truncate' (env WARDEN_LONG_TEXT; default windows).")
    var longText: String?

    @Option(help: "Most windows scored per long text (env WARDEN_MAX_WINDOWS; default 16).")
    var maxWindows: Int?

    @Option(help: "Entries in the cache of recent results, 0 turns it off (env WARDEN_CACHE_SIZE; default 10000).")
    var cacheSize: Int?

    func configuration(workers: Int) throws -> BatchingConfiguration {
        var config = BatchingConfiguration()
        config.maxBatchSize = try Setting.resolve(maxBatchSize, env: "WARDEN_MAX_BATCH_SIZE", default: config.maxBatchSize)
        config.maxBatchTokens = try Setting.resolve(maxBatchTokens, env: "WARDEN_MAX_BATCH_TOKENS", default: config.maxBatchTokens)
        config.minPaddingEfficiency = try Setting.resolve(minPaddingEfficiency, env: "WARDEN_MIN_PADDING_EFFICIENCY", default: config.minPaddingEfficiency)
        config.interactive.maxQueueDelay = .microseconds(Int(1000 * (try Setting.resolve(maxQueueDelayMs, env: "WARDEN_MAX_QUEUE_DELAY_MS", default: config.interactive.maxQueueDelay.milliseconds))))
        config.bulk.maxQueueDelay = .microseconds(Int(1000 * (try Setting.resolve(bulkMaxQueueDelayMs, env: "WARDEN_BULK_MAX_QUEUE_DELAY_MS", default: config.bulk.maxQueueDelay.milliseconds))))
        config.interactive.defaultDeadline = .milliseconds(try Setting.resolve(interactiveDeadlineMs, env: "WARDEN_INTERACTIVE_DEADLINE_MS", default: Int(config.interactive.defaultDeadline.milliseconds)))
        config.bulk.defaultDeadline = .milliseconds(try Setting.resolve(bulkDeadlineMs, env: "WARDEN_BULK_DEADLINE_MS", default: Int(config.bulk.defaultDeadline.milliseconds)))
        config.maxQueuedItems = try Setting.resolve(maxQueuedItems, env: "WARDEN_MAX_QUEUED_ITEMS", default: config.maxQueuedItems)
        config.maxQueuedTokens = try Setting.resolve(maxQueuedTokens, env: "WARDEN_MAX_QUEUED_TOKENS", default: config.maxQueuedTokens)
        switch Setting.resolve(longText, env: "WARDEN_LONG_TEXT") ?? "windows" {
        case "windows": break
        case "truncate": config.longTextPolicy = .truncate
        case let other: throw ValidationError("--long-text must be 'windows' or 'truncate' (got '\(other)')")
        }
        config.maxWindowsPerText = try Setting.resolve(maxWindows, env: "WARDEN_MAX_WINDOWS", default: config.maxWindowsPerText)
        config.cacheCapacity = try Setting.resolve(cacheSize, env: "WARDEN_CACHE_SIZE", default: config.cacheCapacity)
        config.workers = workers
        return config
    }
}

/// Log level from `--log-level` / `WARDEN_LOG_LEVEL`.
func resolveLogLevel(_ flag: String?) throws -> Logger.Level {
    let raw = Setting.resolve(flag, env: "WARDEN_LOG_LEVEL") ?? "info"
    guard let level = Logger.Level(rawValue: raw.lowercased()) else {
        throw ValidationError("log level must be one of trace, debug, info, notice, warning, error, critical (got '\(raw)')")
    }
    return level
}
