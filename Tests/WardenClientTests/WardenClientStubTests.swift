import AsyncHTTPClient
import Foundation
import Testing
import WardenAPI
import WardenTestSupport

@testable import WardenClient

/// Client behaviours a real Warden cannot be made to show on demand, against `StubWarden` (a real HTTP server
/// on loopback): a 429 or 503 followed by a 200, a reply slower than the client timeout, a scripted 504, 4xx
/// answers, a malformed 200. Unreachable Warden is a real closed port.
@Suite("WardenClient against a stub server and a closed port", .timeLimit(.minutes(5)))
struct WardenClientStubTests {
    static func configuration(
        _ baseURL: String, scenario: String, query: String = "", key: String = UUID().uuidString,
        retry: WardenClient.RetryPolicy = .init(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .seconds(5)),
        timeout: Duration = .seconds(10), events: EventLog? = nil
    ) -> (WardenClient.Configuration, String) {
        var configuration = WardenClient.Configuration(baseURL: baseURL, timeout: timeout, retry: retry)
        configuration.moderationPath = "/\(scenario)/\(key)/v1/moderations\(query)"
        if let events { configuration.onEvent = { events.record($0) } }
        return (configuration, key)
    }

    @Test("429 with Retry-After: the client waits at least the hint, then succeeds")
    func retryAfter429() async throws {
        try await StubWarden.with { baseURL, calls in
            let events = EventLog()
            let (configuration, key) = Self.configuration(baseURL, scenario: "429-then-ok", events: events)
            let client = WardenClient(configuration: configuration)
            let (result, elapsed) = try await timed { try await client.moderate("hello there") }
            #expect(result.flagged == false)
            #expect(await calls.count(key) == 2)
            #expect(elapsed >= .seconds(1), "Retry-After: 1 must be honoured; took \(elapsed)")
            #expect(events.retryDelays.count == 1)
            #expect(events.retryDelays.allSatisfy { $0 >= .seconds(1) })
        }
    }

    @Test("503 with Retry-After: retried after at least the hint")
    func retryAfter503() async throws {
        try await StubWarden.with { baseURL, calls in
            let (configuration, key) = Self.configuration(baseURL, scenario: "503-then-ok")
            let client = WardenClient(configuration: configuration)
            let (results, elapsed) = try await timed { try await client.moderate(["a", "you idiot"]) }
            #expect(results.map(\.flagged) == [false, true])
            #expect(await calls.count(key) == 2)
            #expect(elapsed >= .seconds(1))
        }
    }

    @Test("429 on every attempt: .overloaded with the server's hint, after maxAttempts calls")
    func overloadedAfterRetries() async throws {
        try await StubWarden.with { baseURL, calls in
            let (configuration, key) = Self.configuration(
                baseURL, scenario: "always-429", retry: .init(maxAttempts: 2, baseDelay: .milliseconds(10), maxDelay: .seconds(5)))
            let client = WardenClient(configuration: configuration)
            let error = await #expect(throws: WardenClientError.self) { try await client.moderate("hi") }
            #expect(error?.code == .overloaded)
            #expect(error?.status == 429)
            #expect(error?.retryAfter == .seconds(1))
            #expect(error?.serverCode == "overloaded")
            #expect(await calls.count(key) == 2)
        }
    }

    @Test("A Retry-After longer than maxDelay ends retries at once instead of holding the caller")
    func retryAfterBeyondMaxDelay() async throws {
        try await StubWarden.with { baseURL, calls in
            let (configuration, key) = Self.configuration(
                baseURL, scenario: "always-429", query: "?retry=30",
                retry: .init(maxAttempts: 5, baseDelay: .milliseconds(10), maxDelay: .seconds(2)))
            let client = WardenClient(configuration: configuration)
            let error = await #expect(throws: WardenClientError.self) { try await client.moderate("hi") }
            #expect(error?.code == .overloaded)
            #expect(error?.retryAfter == .seconds(30))
            #expect(await calls.count(key) == 1)
        }
    }

    @Test(
        "A huge Retry-After (1e300, 1e16, a 25-digit integer) does not crash the client: read as a day, it ends the retries at once",
        arguments: ["1e300", "1e16", "9999999999999999999999999", "1.5e19"])
    func hugeRetryAfter(value: String) async throws {
        try await StubWarden.with { baseURL, calls in
            let (configuration, key) = Self.configuration(
                baseURL, scenario: "always-429", query: "?retry=\(value)",
                retry: .init(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .seconds(2)))
            let error = await #expect(throws: WardenClientError.self) { try await WardenClient(configuration: configuration).moderate("hi") }
            #expect(error?.code == .overloaded)
            #expect(error?.retryAfter == WardenClient.longestRetryAfter)
            #expect(await calls.count(key) == 1)
        }
    }

    @Test(
        "A Retry-After that is not a number of seconds (inf, nan, -5, an HTTP-date, hex, empty) is ignored: backoff applies",
        arguments: ["inf", "nan", "-5", "Wed, 21 Oct 2015 07:28:00 GMT", "0x10", "", "1e", "12abc", "+infinity"])
    func garbageRetryAfter(value: String) async throws {
        try await StubWarden.with { baseURL, calls in
            let events = EventLog()
            let query = "?retry=" + value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let (configuration, key) = Self.configuration(
                baseURL, scenario: "always-429", query: query,
                retry: .init(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50)), events: events)
            let error = await #expect(throws: WardenClientError.self) { try await WardenClient(configuration: configuration).moderate("hi") }
            #expect(error?.code == .overloaded)
            #expect(error?.retryAfter == nil)
            #expect(await calls.count(key) == 3)
            #expect(events.retryDelays.allSatisfy { $0 <= .milliseconds(50) })
        }
    }

    @Test("A timeout or deadline too large to represent (a chat server's --warden-timeout-ms of Int.max) does not crash the client")
    func hugeTimeoutAndDeadline() async throws {
        try await StubWarden.with { baseURL, _ in
            for huge in [Duration.seconds(Int64.max), .milliseconds(Int.max), .seconds(400 * 86_400)] {
                let (configuration, _) = Self.configuration(baseURL, scenario: "ok", timeout: huge)
                let result = try await WardenClient(configuration: configuration).moderate("hi", options: .init(deadline: huge))
                #expect(result.flagged == false)
            }
            let (configuration, _) = Self.configuration(baseURL, scenario: "ok")
            #expect(try await WardenClient(configuration: configuration).moderate("hi", options: .init(deadline: .seconds(-5))).flagged == false)
        }
        #expect(WardenClient.deadlineMilliseconds(.milliseconds(250)) == 250)
        #expect(WardenClient.deadlineMilliseconds(.microseconds(1500)) == 2)
        #expect(WardenClient.deadlineMilliseconds(.seconds(-3)) == 1)
    }

    @Test("Client timeout and server deadline (504) are distinct errors, and neither is retried")
    func timeoutVersusDeadline() async throws {
        try await StubWarden.with { baseURL, calls in
            let (slow, slowKey) = Self.configuration(baseURL, scenario: "slow", timeout: .milliseconds(300))
            let timeout = await #expect(throws: WardenClientError.self) {
                try await WardenClient(configuration: slow).moderate("hi")
            }
            let (deadline, deadlineKey) = Self.configuration(baseURL, scenario: "deadline")
            let deadlineError = await #expect(throws: WardenClientError.self) {
                try await WardenClient(configuration: deadline).moderate("hi", options: .init(deadline: .milliseconds(5)))
            }
            #expect(timeout?.code == .timeout)
            #expect(timeout?.status == nil)
            #expect(deadlineError?.code == .deadlineExceeded)
            #expect(deadlineError?.status == 504)
            #expect(deadlineError?.serverCode == "deadline_exceeded")
            #expect(deadlineError?.serverMessage?.contains("5 ms") == true, "deadline_ms must be sent")
            #expect(timeout?.code != deadlineError?.code)
            #expect(await calls.count(slowKey) == 1)
            #expect(await calls.count(deadlineKey) == 1)
        }
    }

    @Test("4xx other than 429 is never retried and carries Warden's error code and message")
    func badRequestNotRetried() async throws {
        try await StubWarden.with { baseURL, calls in
            let (configuration, key) = Self.configuration(baseURL, scenario: "bad-request")
            let error = await #expect(throws: WardenClientError.self) {
                try await WardenClient(configuration: configuration).moderate("hi")
            }
            #expect(error?.code == .badRequest)
            #expect(error?.status == 422)
            #expect(error?.serverCode == "too_many_inputs")
            #expect(error?.message.contains("at most 256 inputs") == true)
            #expect(await calls.count(key) == 1)
        }
    }

    @Test("API key: refused without it (.unauthorized, not retried), accepted as a Bearer token")
    func apiKey() async throws {
        try await StubWarden.with { baseURL, calls in
            var (configuration, key) = Self.configuration(baseURL, scenario: "unauthorized")
            let error = await #expect(throws: WardenClientError.self) {
                try await WardenClient(configuration: configuration).moderate("hi")
            }
            #expect(error?.code == .unauthorized)
            #expect(await calls.count(key) == 1)
            configuration.apiKey = "secret"
            let result = try await WardenClient(configuration: configuration).moderate("hi")
            #expect(result.flagged == false)
        }
    }

    @Test("A 200 that is not a moderation response is .invalidResponse")
    func invalidResponse() async throws {
        try await StubWarden.with { baseURL, _ in
            let (configuration, _) = Self.configuration(baseURL, scenario: "garbage")
            let error = await #expect(throws: WardenClientError.self) {
                try await WardenClient(configuration: configuration).moderate("hi")
            }
            #expect(error?.code == .invalidResponse)
        }
    }

    @Test("Long lists are split by maxInputsPerRequest and come back in order; an empty list sends nothing")
    func batching() async throws {
        try await StubWarden.with { baseURL, calls in
            var (configuration, key) = Self.configuration(baseURL, scenario: "ok")
            configuration.maxInputsPerRequest = 2
            let client = WardenClient(configuration: configuration)
            let texts = ["fine", "you idiot", "buy now!", "fine too", "idiot"]
            let results = try await client.moderate(texts, options: .bulk)
            #expect(results.map(\.flagged) == [false, true, true, false, true])
            #expect(results[2].flaggedLabels == ["spam"])
            #expect(await calls.count(key) == 3)
            #expect(try await client.moderate([String]()).isEmpty)
            #expect(await calls.count(key) == 3)
        }
    }

    @Test("screen: allow and block")
    func screenAllowBlock() async throws {
        try await StubWarden.with { baseURL, _ in
            let (configuration, _) = Self.configuration(baseURL, scenario: "ok")
            let client = WardenClient(configuration: configuration)
            let allow = await client.screen("good morning")
            let block = await client.screen("you idiot")
            guard case .allow = allow else {
                Issue.record("expected allow, got \(allow)")
                return
            }
            guard case .block(let result) = block else {
                Issue.record("expected block, got \(block)")
                return
            }
            #expect(result.flaggedLabels == ["toxic"])
            #expect(allow.shouldDeliver && !block.shouldDeliver)
        }
    }

    @Test("A partly scored text: the result says so; screen allows it by default and reports it through onEvent")
    func partlyScoredAllowed() async throws {
        try await StubWarden.with { baseURL, _ in
            let events = EventLog()
            let (configuration, _) = Self.configuration(baseURL, scenario: "ok", events: events)
            let client = WardenClient(configuration: configuration)
            let result = try await client.moderate("an endless story about the weekend")
            #expect(result.truncated == true && result.windows == 16 && result.isPartlyScored)
            #expect(try await client.moderate("short").isPartlyScored == false)
            #expect(events.partlyScored.isEmpty, "moderate() reports results, screen() applies the policy")

            let verdict = await client.screen("an endless story about the weekend")
            guard case .allow(let allowed) = verdict else {
                Issue.record("expected allow, got \(verdict)")
                return
            }
            #expect(allowed.isPartlyScored && verdict.shouldDeliver)
            #expect(events.partlyScored.count == 1 && events.partlyScored.first?.1 == .allow)
            #expect(events.partlyScored.first?.0.windows == 16)

            // A flag in the part scored blocks it, with no partly-scored report; texts scored whole are not reported.
            guard case .block = await client.screen("an endless rant, you idiot") else {
                Issue.record("expected block")
                return
            }
            let verdicts = await client.screen(["fine", "endless again", "you idiot"])
            #expect(verdicts.map(\.shouldDeliver) == [true, true, false])
            #expect(events.partlyScored.count == 2)
            #expect(events.unscored.isEmpty)
        }
    }

    @Test(
        "partlyScored: .unscored treats a partly scored text as unscored: the failure policy decides, and it is reported",
        arguments: [WardenClient.FailurePolicy.failOpen, .failClosed])
    func partlyScoredAsUnscored(policy: WardenClient.FailurePolicy) async throws {
        try await StubWarden.with { baseURL, _ in
            let events = EventLog()
            var (configuration, _) = Self.configuration(baseURL, scenario: "ok", events: events)
            configuration.partlyScored = .unscored
            configuration.failurePolicy = policy
            let client = WardenClient(configuration: configuration)
            let verdict = await client.screen("an endless story about the weekend")
            guard case .unscored(let reason, let usedPolicy) = verdict else {
                Issue.record("expected unscored, got \(verdict)")
                return
            }
            #expect(reason.code == .partlyScored && usedPolicy == policy)
            #expect(reason.message.contains("16 windows"))
            #expect(verdict.shouldDeliver == (policy == .failOpen))
            #expect(events.partlyScored.count == 1 && events.partlyScored.first?.1 == .unscored)
            guard case .allow = await client.screen("short and sweet") else {
                Issue.record("a text scored whole is allowed")
                return
            }
        }
    }

    @Test(
        "Warden unreachable (closed port): retried, then .unreachable; fail-open delivers and reports, fail-closed refuses",
        arguments: [WardenClient.FailurePolicy.failOpen, .failClosed])
    func unreachable(policy: WardenClient.FailurePolicy) async throws {
        let events = EventLog()
        var configuration = WardenClient.Configuration(
            baseURL: "http://127.0.0.1:\(refusingLoopbackPort())", timeout: .seconds(60),
            retry: .init(maxAttempts: 2, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50)),
            failurePolicy: policy)
        configuration.onEvent = { events.record($0) }
        let client = WardenClient(configuration: configuration)

        let error = await #expect(throws: WardenClientError.self) { try await client.moderate("hello") }
        #expect(error?.code == .unreachable)
        #expect(events.retryDelays.count == 1, "connection failures are retried")

        let verdict = await client.screen("hello")
        guard case .unscored(let reason, let usedPolicy) = verdict else {
            Issue.record("expected unscored, got \(verdict)")
            return
        }
        #expect(reason.code == .unreachable)
        #expect(usedPolicy == policy)
        #expect(verdict.shouldDeliver == (policy == .failOpen))
        #expect(events.unscored.count == 1)
        #expect(events.unscored.first?.1 == policy)
    }
}

@Suite("WardenClient units", .timeLimit(.minutes(5)))
struct WardenClientUnitTests {
    @Test("The default HTTP client fails a connection attempt on the first refusal: the client's RetryPolicy retries, not AsyncHTTPClient until the timeout")
    func defaultHTTPClientDoesNotRetryConnections() {
        #expect(WardenClient.httpClientConfiguration.connectionPool.retryConnectionEstablishment == false)
    }

    @Test func retryAfterParsing() {
        #expect(WardenClient.parseRetryAfter("1") == .seconds(1))
        #expect(WardenClient.parseRetryAfter(" 12 ") == .seconds(12))
        #expect(WardenClient.parseRetryAfter("0.5") == .milliseconds(500))
        #expect(WardenClient.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == nil)
        #expect(WardenClient.parseRetryAfter("-1") == nil)
    }

    @Test func backoffGrowsWithJitterWithinBoundsAndHonoursHints() {
        let policy = WardenClient.RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        for _ in 0..<50 {
            let first = policy.delay(afterAttempt: 1, retryAfter: nil)!
            #expect(first >= .milliseconds(50) && first <= .milliseconds(100))
            let third = policy.delay(afterAttempt: 3, retryAfter: nil)!
            #expect(third >= .milliseconds(200) && third <= .milliseconds(400))
            let capped = policy.delay(afterAttempt: 20, retryAfter: nil)!
            #expect(capped <= .seconds(1))
            #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(1))! >= .seconds(1))
        }
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(2)) == nil)
        let noJitter = WardenClient.RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(1), jitter: false)
        #expect(noJitter.delay(afterAttempt: 2, retryAfter: nil) == .milliseconds(200))
    }

    @Test func requestEncodingMatchesTheWireFormat() throws {
        let request = ModerationRequest(input: .single("hi"), lane: .interactive, deadlineMs: 250)
        let json = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        #expect(json.contains(#""deadline_ms":250"#))
        #expect(json.contains(#""input":"hi""#))
    }

    @Test func errorMessagesAreActionable() {
        let deadline = WardenClientError.fromStatus(504, body: nil, retryAfter: nil, attempts: 1)
        #expect(deadline.code == .deadlineExceeded)
        #expect(deadline.message.contains("deadline"))
        let timeout = WardenClientError.timeout(.seconds(2), url: "http://x/v1/moderate")
        #expect(timeout.code == .timeout)
        #expect(timeout.message.contains("Configuration.timeout"))
        #expect(String(describing: timeout).hasPrefix("WardenClientError.timeout"))
    }
}
