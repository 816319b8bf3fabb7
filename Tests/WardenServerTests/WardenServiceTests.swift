import Foundation
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing
import WardenServer
import WardenTestSupport

/// The parts of `warden serve` that are not argument parsing: API key files, the connection cap, the ready
/// banner and the drain clock.
@Suite("Serving: keys, limits, banner, drain", .timeLimit(.minutes(1)))
struct WardenServiceTests {
    @Test("an API key file gives one key per line, without blanks and comments, and warns when others can read it")
    func apiKeyFile() throws {
        let folder = try TempFolder()
        let file = try folder.write("keys", "# the chat servers\nkey-file-0123456789abcdef\n\n  second-key-0123456789  \n")
        chmod(file, 0o600)
        let closed = try ServerConfiguration.apiKeys(fromFile: file)
        #expect(closed.keys == ["key-file-0123456789abcdef", "second-key-0123456789"])
        #expect(closed.warning == nil)
        chmod(file, 0o644)
        #expect(try ServerConfiguration.apiKeys(fromFile: file).warning?.contains("can be read by other users (mode 644)") == true)
        #expect(throws: ServerSetupError.self) { try ServerConfiguration.apiKeys(fromFile: folder.path("missing")) }
    }

    @Test("keys listed win over the comma-separated ones; a file's keys are added")
    func apiKeySources() throws {
        let folder = try TempFolder()
        let file = try folder.write("keys", "file-key-0123456789abcdef\n")
        chmod(file, 0o600)
        let listed = "listed-key-0123456789abcdef", env = "env-key-one-0123456789, env-key-two-0123456789"
        #expect(try ServerConfiguration.apiKeys(listed: [listed], commaSeparated: env, file: nil).keys == [listed])
        #expect(
            try ServerConfiguration.apiKeys(listed: [], commaSeparated: env, file: file).keys
                == ["env-key-one-0123456789", "env-key-two-0123456789", "file-key-0123456789abcdef"])
        #expect(try ServerConfiguration.apiKeys(listed: [], commaSeparated: nil, file: nil).keys.isEmpty)
        #expect(throws: ServerSetupError.self) { try ServerConfiguration.apiKeys(listed: ["short"], commaSeparated: nil, file: nil) }
    }

    @Test("short API keys are refused")
    func shortKeys() throws {
        var configuration = ServerConfiguration()
        configuration.apiKeys = [String(repeating: "k", count: ServerConfiguration.minimumAPIKeyLength)]
        try configuration.validateAPIKeys()
        configuration.apiKeys.append("short-key")
        let error = #expect(throws: ServerSetupError.self) { try configuration.validateAPIKeys() }
        #expect(error?.description.contains("'sho…' is shorter than \(ServerConfiguration.minimumAPIKeyLength) characters") == true)
    }

    @Test("the connection cap fits the file limit, which is raised to its hard limit")
    func connectionCap() {
        var configuration = ServerConfiguration()
        configuration.maxConnections = Int.max
        let files = configuration.fitConnectionsToFileLimit()
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        #expect(limit.rlim_cur == limit.rlim_max)
        #expect(configuration.maxConnections == max(files - 256, 16))
        var small = ServerConfiguration()
        small.maxConnections = 8
        small.fitConnectionsToFileLimit()
        #expect(small.maxConnections == 8)
    }

    @Test("the ready banner shows a reachable address and the header a key needs")
    func banner() {
        var configuration = ServerConfiguration()
        configuration.host = "0.0.0.0"
        let open = WardenService.readyBanner(configuration: configuration, port: 8123)
        #expect(open.hasPrefix("Warden is ready on http://127.0.0.1:8123"))
        #expect(!open.contains("Authorization"))
        configuration.apiKeys = ["key-file-0123456789abcdef"]
        #expect(WardenService.readyBanner(configuration: configuration, port: 8123).contains("-H 'Authorization: Bearer $WARDEN_API_KEY'"))
    }

    @Test("the drain clock notes when shutdown began and abandons queued work before the timeout, unless cancelled")
    func shutdownClock() async throws {
        let (abandoned, signal) = AsyncStream<Void>.makeStream()
        let clock = ShutdownClock(drainTimeout: .milliseconds(50)) { signal.yield() }
        #expect(clock.began == nil)
        try await testGracefulShutdown { trigger in
            trigger.triggerGracefulShutdown()
            try await clock.run()
        }
        #expect(clock.began != nil)
        var iterator = abandoned.makeAsyncIterator()
        await iterator.next()

        let cancelled = ShutdownClock(drainTimeout: .seconds(3600)) { Issue.record("called after cancel") }
        try await testGracefulShutdown { trigger in
            trigger.triggerGracefulShutdown()
            try await cancelled.run()
        }
        cancelled.cancel()
    }
}
