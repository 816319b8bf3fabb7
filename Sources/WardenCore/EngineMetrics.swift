import Foundation
import Metrics

/// The batching engine's swift-metrics instruments, created once. Their handlers come from whatever factory
/// the process bootstrapped: `WardenCore` never bootstraps one; `WardenServer`'s `WardenMetrics` does, for the
/// Prometheus `/metrics` endpoint (without one, as in `warden score`, the instruments record nothing).
///
/// | name | kind | meaning |
/// |---|---|---|
/// | `warden_queue_depth{lane}` | gauge | items waiting per lane |
/// | `warden_batch_size` | recorder (histogram) | items per batch |
/// | `warden_batch_rows` | recorder (histogram) | model rows per batch (padded: messages, duplicates collapsed; packed: packed rows) |
/// | `warden_batch_padded_tokens` | recorder (histogram) | `rows × longest` per batch |
/// | `warden_packed_batches_total` | counter | batches run packed (several messages in a model row) |
/// | `warden_batch_packing_efficiency` | recorder | real tokens / tokens the model computed (rows × row length), per batch: packing efficiency, or padding efficiency for padded batches |
/// | `warden_packing_efficiency` | gauge | the same since start |
/// | `warden_queue_wait{lane}` | timer | time from admission to the start of the item's batch |
/// | `warden_inference_duration` | timer | backend time per batch |
/// | `warden_request_duration{lane}` | timer | end-to-end time of a successful `Moderator.moderate` |
/// | `warden_rejected_total{reason}` | counter | requests refused by admission (`overloaded`, `too_large`, `shutting_down`, `deadline`) |
/// | `warden_expired_total` | counter | items dropped because their deadline passed |
/// | `warden_cancelled_total` | counter | requests whose caller went away before they were answered |
/// | `warden_backend_failures_total` | counter | batches the backend failed |
/// | `warden_cache_hits_total`, `warden_cache_misses_total` | counter | result cache look-ups |
/// | `warden_runtime_info{precision,blas_core}` | gauge | 1 for how the loaded model computes: its precision and the BLAS kernel set (`none` without one) |
/// | `warden_model_info{model,version}` | gauge | 1 for the served model, 0 for one a reload replaced |
/// | `warden_model_loaded_timestamp_seconds`, `warden_model_load_seconds` | gauge | when the served model began serving; how long loading and warming it took |
/// | `warden_model_reloads_total{outcome}` | counter | reloads, `ok` or `failed` |
///
/// A shadow model's engine (``EngineConfiguration/metricsPrefix`` `warden_shadow`) records the same series
/// under `warden_shadow_…`, so they never mix with the served model's.
struct EngineMetrics: Sendable {
    /// The start of every name: `warden`, or `warden_shadow` for a shadow model's engine.
    let prefix: String
    let interactiveDepth: Gauge
    let bulkDepth: Gauge
    let batchSize: Recorder
    let batchRows: Recorder
    let packedBatches: Counter
    let paddedTokens: Recorder
    let batchPaddingEfficiency: Recorder
    let paddingEfficiency: Gauge
    let interactiveQueueWait: Timer
    let bulkQueueWait: Timer
    let inference: Timer
    let interactiveLatency: Timer
    let bulkLatency: Timer
    let rejectedOverloaded: Counter
    let rejectedTooLarge: Counter
    let rejectedShuttingDown: Counter
    let rejectedDeadline: Counter
    let expired: Counter
    /// Rows computed for requests that then failed their deadline or were cancelled: compute thrown away.
    let wastedRows: Counter
    let cancelled: Counter
    let backendFailures: Counter
    let cacheHits: Counter
    let cacheMisses: Counter

    init(prefix: String = "warden") {
        self.prefix = prefix
        interactiveDepth = Gauge(label: prefix + "_queue_depth", dimensions: [("lane", Lane.interactive.rawValue)])
        bulkDepth = Gauge(label: prefix + "_queue_depth", dimensions: [("lane", Lane.bulk.rawValue)])
        batchSize = Recorder(label: prefix + "_batch_size")
        batchRows = Recorder(label: prefix + "_batch_rows")
        packedBatches = Counter(label: prefix + "_packed_batches_total")
        paddedTokens = Recorder(label: prefix + "_batch_padded_tokens")
        batchPaddingEfficiency = Recorder(label: prefix + "_batch_packing_efficiency")
        paddingEfficiency = Gauge(label: prefix + "_packing_efficiency")
        interactiveQueueWait = Timer(label: prefix + "_queue_wait", dimensions: [("lane", Lane.interactive.rawValue)])
        bulkQueueWait = Timer(label: prefix + "_queue_wait", dimensions: [("lane", Lane.bulk.rawValue)])
        inference = Timer(label: prefix + "_inference_duration")
        interactiveLatency = Timer(label: prefix + "_request_duration", dimensions: [("lane", Lane.interactive.rawValue)])
        bulkLatency = Timer(label: prefix + "_request_duration", dimensions: [("lane", Lane.bulk.rawValue)])
        rejectedOverloaded = Counter(label: prefix + "_rejected_total", dimensions: [("reason", "overloaded")])
        rejectedTooLarge = Counter(label: prefix + "_rejected_total", dimensions: [("reason", "too_large")])
        rejectedShuttingDown = Counter(label: prefix + "_rejected_total", dimensions: [("reason", "shutting_down")])
        rejectedDeadline = Counter(label: prefix + "_rejected_total", dimensions: [("reason", "deadline")])
        expired = Counter(label: prefix + "_expired_total")
        wastedRows = Counter(label: prefix + "_wasted_rows_total")
        cancelled = Counter(label: prefix + "_cancelled_total")
        backendFailures = Counter(label: prefix + "_backend_failures_total")
        cacheHits = Counter(label: prefix + "_cache_hits_total")
        cacheMisses = Counter(label: prefix + "_cache_misses_total")
    }

    /// Records the served model: `warden_model_info{model,version}` 1 (0 for the model it replaced), when it
    /// began serving and how long loading and warming it took; counts a reload.
    func recordServed(_ served: ServedModel, replacing previous: ServedModel?) {
        if let previous {
            Gauge(label: prefix + "_model_info", dimensions: [("model", previous.bundle.name), ("version", previous.bundle.version)]).record(0)
            Counter(label: prefix + "_model_reloads_total", dimensions: [("outcome", "ok")]).increment()
        }
        Gauge(label: prefix + "_model_info", dimensions: [("model", served.bundle.name), ("version", served.bundle.version)]).record(1)
        Gauge(label: prefix + "_model_loaded_timestamp_seconds").record(served.loadedAt.timeIntervalSince1970)
        Gauge(label: prefix + "_model_load_seconds").record(served.loadDuration.seconds)
    }

    /// Counts a reload that failed (the served model kept serving).
    func reloadFailed() {
        Counter(label: prefix + "_model_reloads_total", dimensions: [("outcome", "failed")]).increment()
    }

    /// Records `warden_runtime_info` for a loaded model (always both labels, so the series keep one shape).
    func record(_ runtime: RuntimeInfo) {
        Gauge(label: prefix + "_runtime_info", dimensions: [("precision", runtime.precision ?? "unknown"), ("blas_core", runtime.blasCore ?? "none")])
            .record(1)
    }

    func depth(_ lane: Lane) -> Gauge { lane == .interactive ? interactiveDepth : bulkDepth }
    func queueWait(_ lane: Lane) -> Timer { lane == .interactive ? interactiveQueueWait : bulkQueueWait }
    func latency(_ lane: Lane) -> Timer { lane == .interactive ? interactiveLatency : bulkLatency }

    func rejected(_ error: ModerationError) {
        switch error.code {
        case .overloaded: rejectedOverloaded.increment()
        case .requestTooLarge: rejectedTooLarge.increment()
        case .shuttingDown: rejectedShuttingDown.increment()
        case .deadlineExceeded: rejectedDeadline.increment()
        default: break
        }
    }
}
