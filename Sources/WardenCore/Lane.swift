/// The two priority classes of the batching engine.
///
/// - `interactive`: chat messages; latency first. Batches are filled from this lane first.
/// - `bulk`: file scoring and large batch requests; throughput first. Guaranteed a share of the batches
///   while it has work waiting (see ``BatchingConfiguration/bulkShare``), so it never starves.
public enum Lane: String, Sendable, Codable, CaseIterable {
    case interactive
    case bulk
}
