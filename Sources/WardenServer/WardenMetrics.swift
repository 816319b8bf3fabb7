import Metrics
import Prometheus

/// The process's Prometheus registry. swift-metrics can be bootstrapped once per process, so the first
/// use of `registry` bootstraps `MetricsSystem` with a Prometheus factory over it; every later use
/// (another application in the same test process) shares it.
public enum WardenMetrics {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
        MetricsSystem.bootstrap(factory)
        return registry
    }()
}
