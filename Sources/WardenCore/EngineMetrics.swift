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
struct EngineMetrics: Sendable {
    let interactiveDepth = Gauge(label: "warden_queue_depth", dimensions: [("lane", Lane.interactive.rawValue)])
    let bulkDepth = Gauge(label: "warden_queue_depth", dimensions: [("lane", Lane.bulk.rawValue)])
    let batchSize = Recorder(label: "warden_batch_size")
    let batchRows = Recorder(label: "warden_batch_rows")
    let packedBatches = Counter(label: "warden_packed_batches_total")
    let paddedTokens = Recorder(label: "warden_batch_padded_tokens")
    let batchPaddingEfficiency = Recorder(label: "warden_batch_packing_efficiency")
    let paddingEfficiency = Gauge(label: "warden_packing_efficiency")
    let interactiveQueueWait = Timer(label: "warden_queue_wait", dimensions: [("lane", Lane.interactive.rawValue)])
    let bulkQueueWait = Timer(label: "warden_queue_wait", dimensions: [("lane", Lane.bulk.rawValue)])
    let inference = Timer(label: "warden_inference_duration")
    let interactiveLatency = Timer(label: "warden_request_duration", dimensions: [("lane", Lane.interactive.rawValue)])
    let bulkLatency = Timer(label: "warden_request_duration", dimensions: [("lane", Lane.bulk.rawValue)])
    let rejectedOverloaded = Counter(label: "warden_rejected_total", dimensions: [("reason", "overloaded")])
    let rejectedTooLarge = Counter(label: "warden_rejected_total", dimensions: [("reason", "too_large")])
    let rejectedShuttingDown = Counter(label: "warden_rejected_total", dimensions: [("reason", "shutting_down")])
    let rejectedDeadline = Counter(label: "warden_rejected_total", dimensions: [("reason", "deadline")])
    let expired = Counter(label: "warden_expired_total")
    /// Rows computed for requests that then failed their deadline or were cancelled: compute thrown away.
    let wastedRows = Counter(label: "warden_wasted_rows_total")
    let cancelled = Counter(label: "warden_cancelled_total")
    let backendFailures = Counter(label: "warden_backend_failures_total")
    let cacheHits = Counter(label: "warden_cache_hits_total")
    let cacheMisses = Counter(label: "warden_cache_misses_total")

    /// Records the served model: `warden_model_info{model,version}` 1 (0 for the model it replaced), when it
    /// began serving and how long loading and warming it took; counts a reload.
    static func recordServed(_ served: ServedModel, replacing previous: ServedModel?) {
        if let previous {
            Gauge(label: "warden_model_info", dimensions: [("model", previous.bundle.name), ("version", previous.bundle.version)]).record(0)
            Counter(label: "warden_model_reloads_total", dimensions: [("outcome", "ok")]).increment()
        }
        Gauge(label: "warden_model_info", dimensions: [("model", served.bundle.name), ("version", served.bundle.version)]).record(1)
        Gauge(label: "warden_model_loaded_timestamp_seconds").record(served.loadedAt.timeIntervalSince1970)
        Gauge(label: "warden_model_load_seconds").record(served.loadDuration.seconds)
    }

    /// Counts a reload that failed (the served model kept serving).
    static func reloadFailed() {
        Counter(label: "warden_model_reloads_total", dimensions: [("outcome", "failed")]).increment()
    }

    /// Records `warden_runtime_info` for a loaded model (always both labels, so the series keep one shape).
    static func record(_ runtime: RuntimeInfo) {
        Gauge(label: "warden_runtime_info", dimensions: [("precision", runtime.precision ?? "unknown"), ("blas_core", runtime.blasCore ?? "none")])
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
