import ArgumentParser
import Foundation
import Logging
import TorchBackend
import WardenCore
import WardenServer

/// The engine's defaults, quoted by every help text (one source: the configuration types).
private let engineDefaults = EngineConfiguration()

/// The engine of `serve`, `score` and `worker`: its model and threads, its batching and the log it writes to.
struct EngineOptions: ParsableArguments {
    @OptionGroup(title: "Model and threads") var model: ModelOptions
    @OptionGroup(title: "Batching") var batching: BatchingOptions

    @Option(
        help:
            "Log level: trace, debug, info, notice, warning, error, critical (env WARDEN_LOG_LEVEL; default \(ServerConfiguration().logLevel), \(ScoreCommand.defaultLogLevel) for score)."
    )
    var logLevel: String?

    /// The level `--log-level` / `WARDEN_LOG_LEVEL` names, else `fallback`.
    func resolvedLogLevel(default fallback: Logger.Level = ServerConfiguration().logLevel) throws -> Logger.Level {
        let raw = Setting.resolve(logLevel, env: "WARDEN_LOG_LEVEL") ?? fallback.rawValue
        guard let level = Logger.Level(rawValue: raw.lowercased()) else {
            throw ValidationError("log level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(raw)')")
        }
        return level
    }

    /// Sends swift-log output to standard error at the resolved level (once per process); returns a logger
    /// labelled `label` at that level.
    func startLogging(label: String, default fallback: Logger.Level = ServerConfiguration().logLevel) throws -> Logger {
        let level = try resolvedLogLevel(default: fallback)
        bootstrapLogging(level: level)
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }

    /// The engine configuration the flags describe.
    func configuration() throws -> EngineConfiguration {
        try batching.configuration(workers: try model.resolvedWorkers())
    }

    /// The engine over this command's model (or the model in `directory`), with its thread settings (logged to
    /// `logger`), precision and batching; the model loads when the engine runs.
    /// `metricsPrefix` names its metrics (`warden_shadow` for a shadow model).
    func makeEngine(logger: Logger, directory: String? = nil, metricsPrefix: String = "warden") throws -> ModerationEngine {
        let factory = try model.backendFactory(logger: logger)
        TorchRuntime.log(factory.runtime, to: logger)
        let directory = directory ?? model.resolvedModelDirectory()
        var settings = try configuration()
        settings.metricsPrefix = metricsPrefix
        do {
            return try ModerationEngine(modelDirectory: directory, configuration: settings, backends: factory, logger: logger)
        } catch {
            throw CommandFailure.modelNotLoaded(directory: directory, error)
        }
    }
}

/// Model and runtime options common to `serve`, `score`, `worker` and `tune`.
struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("model"), help: "Model bundle folder (env WARDEN_MODEL; default \(ResourceLocator.defaultModel)).")
    var modelDirectory: String?
    @Option(help: ArgumentHelp(RuntimeHelp.workers)) var workers: Int?
    @Option(help: ArgumentHelp(RuntimeHelp.torchThreads)) var torchThreads: Int?
    @Option(help: ArgumentHelp(RuntimeHelp.blasThreads)) var blasThreads: Int?
    @Flag(help: ArgumentHelp(RuntimeHelp.graphOptimization)) var graphOptimization = false
    @Option(help: ArgumentHelp(RuntimeHelp.precision)) var precision: String?

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
        var settings = TorchRuntimeSettings(workers: workers)
        try Setting.override(&settings.intraOpThreads, with: torchThreads, env: "WARDEN_TORCH_THREADS")
        try Setting.override(&settings.blasThreads, with: blasThreads, env: "WARDEN_BLAS_THREADS")
        guard settings.intraOpThreads >= 1, settings.blasThreads >= 1 else { throw ValidationError("thread counts must be at least 1") }
        settings.graphOptimization = try Setting.resolveFlag(graphOptimization, env: "WARDEN_GRAPH_OPTIMIZATION")
        return settings
    }

    /// `--precision` / `WARDEN_PRECISION`, else auto.
    func resolvedPrecision() throws -> PrecisionPolicy {
        do {
            return try PrecisionPolicy(commandLine: Setting.resolve(precision, env: "WARDEN_PRECISION") ?? PrecisionPolicy.commandLineDefault.rawValue)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The TorchScript backends of this command's model, with its thread settings and precision policy;
    /// the precision plan is logged to `logger`.
    func backendFactory(logger: Logger) throws -> TorchBackendFactory {
        TorchBackendFactory(runtime: try runtimeSettings(), precision: try resolvedPrecision(), logger: logger)
    }
}

/// Batching options shared by `serve`, `score` and `tune`.
struct BatchingOptions: ParsableArguments {
    @Option(help: ArgumentHelp(BatchingHelp.maxBatchSize)) var maxBatchSize: Int?
    @Option(help: ArgumentHelp(BatchingHelp.maxBatchTokens)) var maxBatchTokens: Int?
    @Option(help: ArgumentHelp(BatchingHelp.minPaddingEfficiency)) var minPaddingEfficiency: Double?
    @Option(help: ArgumentHelp(BatchingHelp.packing)) var packing: String?
    @Option(help: ArgumentHelp(BatchingHelp.packedRowTokens)) var packedRowTokens: Int?
    @Option(help: ArgumentHelp(BatchingHelp.packedRowWidth)) var packedRowWidth: String?
    @Option(help: ArgumentHelp(BatchingHelp.maxQueueDelayMs)) var maxQueueDelayMs: Double?
    @Option(help: ArgumentHelp(BatchingHelp.bulkMaxQueueDelayMs)) var bulkMaxQueueDelayMs: Double?
    @Option(help: ArgumentHelp(BatchingHelp.bulkMaxBatchMs)) var bulkMaxBatchMs: Double?
    @Option(help: ArgumentHelp(BatchingHelp.interactiveDeadlineMs)) var interactiveDeadlineMs: Int?
    @Option(help: ArgumentHelp(BatchingHelp.bulkDeadlineMs)) var bulkDeadlineMs: Int?
    @Option(help: ArgumentHelp(BatchingHelp.interactiveMaxDeadlineMs)) var interactiveMaxDeadlineMs: Int?
    @Option(help: ArgumentHelp(BatchingHelp.bulkMaxDeadlineMs)) var bulkMaxDeadlineMs: Int?
    @Option(help: ArgumentHelp(BatchingHelp.interactiveMaxQueuedTokens)) var interactiveMaxQueuedTokens: Int?
    @Option(help: ArgumentHelp(BatchingHelp.interactiveMaxRequestTokens)) var interactiveMaxRequestTokens: Int?
    @Option(help: ArgumentHelp(BatchingHelp.bulkMaxRequestTokens)) var bulkMaxRequestTokens: Int?
    @Option(help: ArgumentHelp(BatchingHelp.maxQueuedItems)) var maxQueuedItems: Int?
    @Option(help: ArgumentHelp(BatchingHelp.maxQueuedTokens)) var maxQueuedTokens: Int?
    @Option(help: ArgumentHelp(BatchingHelp.longText)) var longText: String?
    @Option(help: ArgumentHelp(BatchingHelp.maxWindows)) var maxWindows: Int?
    @Flag(help: ArgumentHelp(BatchingHelp.flagPartial)) var flagPartial = false
    @Option(help: ArgumentHelp(BatchingHelp.cacheSize)) var cacheSize: Int?

    /// The engine configuration these flags (and their environment variables) describe, for `workers`.
    func configuration(workers: Int) throws -> EngineConfiguration {
        var config = EngineConfiguration()
        config.workers = workers
        var batching = config.batching
        try Setting.override(&batching.maxBatchSize, with: maxBatchSize, env: "WARDEN_MAX_BATCH_SIZE")
        try Setting.override(&batching.maxBatchTokens, with: maxBatchTokens, env: "WARDEN_MAX_BATCH_TOKENS")
        try Setting.override(&batching.minPaddingEfficiency, with: minPaddingEfficiency, env: "WARDEN_MIN_PADDING_EFFICIENCY")
        let packingName = Setting.resolve(packing, env: "WARDEN_PACKING") ?? batching.packing.rawValue
        guard let packingMode = BatchingConfiguration.Packing(rawValue: packingName) else {
            throw ValidationError(
                "--packing must be one of \(BatchingConfiguration.Packing.allCases.map(\.rawValue).joined(separator: ", ")) (got \"\(packingName)\")")
        }
        batching.packing = packingMode
        try Setting.override(&batching.packedRowTokens, with: packedRowTokens, env: "WARDEN_PACKED_ROW_TOKENS")
        let rowWidthName = Setting.resolve(packedRowWidth, env: "WARDEN_PACKED_ROW_WIDTH") ?? batching.packedRowWidth.rawValue
        guard let rowWidth = BatchingConfiguration.RowWidth(rawValue: rowWidthName) else {
            throw ValidationError(
                "--packed-row-width must be one of \(BatchingConfiguration.RowWidth.allCases.map(\.rawValue).joined(separator: ", ")) (got \"\(rowWidthName)\")"
            )
        }
        batching.packedRowWidth = rowWidth
        try Setting.override(
            &batching.interactive.maxQueueDelay, milliseconds: maxQueueDelayMs, env: "WARDEN_MAX_QUEUE_DELAY_MS", flagName: "--max-queue-delay-ms")
        try Setting.override(
            &batching.bulk.maxQueueDelay, milliseconds: bulkMaxQueueDelayMs, env: "WARDEN_BULK_MAX_QUEUE_DELAY_MS",
            flagName: "--bulk-max-queue-delay-ms")
        try Setting.override(&batching.maxBulkBatchTime, milliseconds: bulkMaxBatchMs, env: "WARDEN_BULK_MAX_BATCH_MS", flagName: "--bulk-max-batch-ms")
        try Setting.override(&batching.interactive.defaultDeadline, milliseconds: interactiveDeadlineMs, env: "WARDEN_INTERACTIVE_DEADLINE_MS")
        try Setting.override(&batching.bulk.defaultDeadline, milliseconds: bulkDeadlineMs, env: "WARDEN_BULK_DEADLINE_MS")
        try Setting.override(&batching.maxQueuedItems, with: maxQueuedItems, env: "WARDEN_MAX_QUEUED_ITEMS")
        try Setting.override(&batching.maxQueuedTokens, with: maxQueuedTokens, env: "WARDEN_MAX_QUEUED_TOKENS")
        batching.bulk.maxQueuedTokens = batching.maxQueuedTokens
        try Setting.override(&batching.interactive.maxDeadline, milliseconds: interactiveMaxDeadlineMs, env: "WARDEN_INTERACTIVE_MAX_DEADLINE_MS")
        try Setting.override(&batching.bulk.maxDeadline, milliseconds: bulkMaxDeadlineMs, env: "WARDEN_BULK_MAX_DEADLINE_MS")
        try Setting.override(&batching.interactive.maxQueuedTokens, with: interactiveMaxQueuedTokens, env: "WARDEN_INTERACTIVE_MAX_QUEUED_TOKENS")
        try Setting.override(&batching.interactive.maxRequestTokens, with: interactiveMaxRequestTokens, env: "WARDEN_INTERACTIVE_MAX_REQUEST_TOKENS")
        // By default one bulk request may take half of the bulk budget, whatever that budget is.
        batching.bulk.maxRequestTokens = min(batching.bulk.maxRequestTokens, max(batching.bulk.maxQueuedTokens / 2, 1))
        try Setting.override(&batching.bulk.maxRequestTokens, with: bulkMaxRequestTokens, env: "WARDEN_BULK_MAX_REQUEST_TOKENS")
        config.batching = batching

        switch Setting.resolve(longText, env: "WARDEN_LONG_TEXT") ?? config.moderator.longTextPolicy.name {
        case LongTextPolicy.windows(overlap: 0).name: break
        case LongTextPolicy.truncate.name: config.moderator.longTextPolicy = .truncate
        case let other: throw ValidationError("--long-text must be 'windows' or 'truncate' (got '\(other)')")
        }
        try Setting.override(&config.moderator.maxWindowsPerText, with: maxWindows, env: "WARDEN_MAX_WINDOWS")
        try Setting.override(&config.moderator.cacheCapacity, with: cacheSize, env: "WARDEN_CACHE_SIZE")
        config.moderator.flagPartiallyScored = try Setting.resolveFlag(flagPartial, env: "WARDEN_FLAG_PARTIAL")
        return config
    }
}

/// Sends swift-log output to standard error at `level` (once per process).
func bootstrapLogging(level: Logger.Level) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
