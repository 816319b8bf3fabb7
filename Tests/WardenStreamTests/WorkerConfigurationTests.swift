import Foundation
import Testing
import WardenStream

/// What `warden worker` serves without flags, and the ready line scripts wait for.
@Suite("Worker configuration")
struct WorkerConfigurationTests {
    @Test("by default the worker answers requests on its check subject in a queue group; a stream is opt-in")
    func defaults() {
        let configuration = WorkerConfiguration()
        #expect(configuration.stream == nil)
        #expect(!configuration.checkSubject.isEmpty && !configuration.queueGroup.isEmpty)
        #expect(WorkerConfiguration.defaultServer.hasPrefix("nats://"))
        #expect(StreamWorkerSettings(stream: "CHAT").consumer == StreamWorkerSettings.defaultConsumer)
        #expect(configuration.metricsHost == "0.0.0.0", "probes from outside the pod reach the metrics port")
    }

    @Test("the ready line names what is served")
    func readyLine() {
        var configuration = WorkerConfiguration()
        #expect(WardenWorker.readyLine(configuration: configuration).hasPrefix("Warden worker is ready: requests on \(configuration.checkSubject) (pid "))
        configuration.stream = StreamWorkerSettings(stream: "CHAT")
        configuration.checkSubject = ""
        #expect(WardenWorker.readyLine(configuration: configuration).hasPrefix("Warden worker is ready: stream CHAT (pid "))
    }
}
