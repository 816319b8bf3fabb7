import Foundation
import Testing

import struct WardenCore.SplitMix64

@testable import WardenClient

/// The client's handling of Warden's answers (``WardenClient/step(after:expecting:attempt:)``, the one path every
/// answer takes) fed with seeded random statuses, `Retry-After` values and bodies: whatever a proxy or a broken
/// server sends, the client returns results or a typed error, never traps, and never waits longer than its
/// `maxDelay`. A failing case reproduces from the seed and its index.
@Suite("WardenClient response handling, fuzzed")
struct WardenClientFuzzTests {
    static let maxDelay = Duration.seconds(2)
    static let maxAttempts = 4

    /// A random `Retry-After` value: well-formed, huge, negative, not a number, an HTTP-date, or absent.
    static func retryAfter(_ random: inout SplitMix64) -> String? {
        let fixed = [
            "inf", "-inf", "infinity", "+infinity", "nan", "NaN", "-5", "-0", "+3", "0x1p3", "0x10", "1_000", "", " ",
            "\t7\t", "1e", "e5", "..", "1.2.3", "Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT",
            "٣", "１２", "1e300", "1e16", "1.5e19", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        ]
        switch random.next() % 8 {
        case 0: return nil
        case 1: return String(random.next() % 121)
        case 2: return String((0..<(2 + random.next() % 400)).map { _ in Character(String(random.next() % 10)) })
        case 3: return "\(random.next() % 1000)e\(Int(random.next() % 801) - 400)"
        case 4: return "\(Double(random.next() % 100_000) / 1000)"
        case 5: return String((0..<(random.next() % 24)).map { _ in Character(Unicode.Scalar(UInt8(32 + random.next() % 95))) })
        default: return fixed[Int(random.next() % UInt64(fixed.count))]
        }
    }

    /// A random body and, when it is certainly a well-formed moderation response, its number of results (an odd
    /// one may decode too).
    static func body(_ random: inout SplitMix64) -> (Data, validResults: Int?) {
        func score() -> String {
            let extremes = ["0", "1", "0.5", "-1", "2", "1e300", "-1e300", "1e-300", "3.4028236e38", "null", "\"x\"", "true"]
            return random.next() % 3 == 0 ? extremes[Int(random.next() % UInt64(extremes.count))] : "\(Double(random.next() % 1000) / 1000)"
        }
        switch random.next() % 6 {
        case 0, 1:
            // A moderation response, clean or with odd values.
            let clean = random.next() % 2 == 0
            let count = Int(random.next() % 4)
            let results = (0..<count).map { _ -> String in
                if clean {
                    return #"{"flagged":false,"categories":{"toxic":false},"category_scores":{"toxic":0.25},"truncated":false,"windows":1}"#
                }
                let windows = ["1", "-3", "99999999999999999999999", "1.5", "null"][Int(random.next() % 5)]
                return
                    #"{"flagged":\#(random.next() % 2 == 0),"categories":{"toxic":\#(random.next() % 2 == 0)},"category_scores":{"toxic":\#(score())},"windows":\#(windows)}"#
            }
            let text = #"{"id":"modr-x","model":"m","results":[\#(results.joined(separator: ","))]}"#
            return (Data(text.utf8), clean ? count : nil)
        case 2:
            let text = #"{"error":{"message":"m","type":"t","code":"\#(random.next() % 2 == 0 ? "overloaded" : "x")","param":null}}"#
            return (Data(text.utf8), nil)
        case 3:
            let text = #"{"id":"modr-x","model":"m","results":[{"flagged":true,"categ"#
            return (Data(text.utf8.prefix(Int(random.next() % UInt64(text.utf8.count)))), nil)
        case 4:
            return (Data((0..<(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }), nil)
        default:
            return (Data(), nil)
        }
    }

    static func status(_ random: inout SplitMix64) -> Int {
        let common = [200, 200, 200, 400, 401, 403, 404, 413, 415, 422, 429, 429, 500, 502, 503, 503, 504]
        switch random.next() % 4 {
        case 0: return Int(random.next() % 1000)
        case 1: return [Int.min, -1, 0, 99, 1000, Int.max][Int(random.next() % 6)]
        default: return common[Int(random.next() % UInt64(common.count))]
        }
    }

    @Test("10,000 random answers: results for a well-formed 200 with the right count, else a typed error; retries only 429/503 within maxDelay")
    func randomAnswers() {
        var random = SplitMix64(seed: 0x5EED_CAFE)
        let client = WardenClient(
            configuration: .init(
                baseURL: "http://127.0.0.1:1",
                retry: .init(maxAttempts: Self.maxAttempts, baseDelay: .milliseconds(100), maxDelay: Self.maxDelay)))
        for index in 0..<10_000 {
            let status = Self.status(&random)
            let retryAfter = Self.retryAfter(&random)
            let (body, validResults) = Self.body(&random)
            let count = 1 + Int(random.next() % 3)
            let attempt = 1 + Int(random.next() % UInt64(Self.maxAttempts))
            let step = client.step(after: .answer(status: status, retryAfter: retryAfter, body: body), expecting: count, attempt: attempt)
            let context: Comment =
                "case \(index): status \(status), Retry-After \(retryAfter.map { "'\($0)'" } ?? "none"), body \(String(decoding: body, as: UTF8.self).prefix(120))"
            switch step {
            case .done(let results):
                #expect(status == 200 && results.count == count, context)
            case .retry(let delay, let error):
                #expect(status == 429 || status == 503, context)
                #expect(attempt < Self.maxAttempts, context)
                #expect(delay >= .zero && delay <= Self.maxDelay, context)
                #expect(error.status == status, context)
            case .fail(let error):
                #expect(!(status == 200 && validResults == count), context)
                #expect(error.status == status, context)
                if status == 200 { #expect(error.code == .invalidResponse, context) }
                if let hint = error.retryAfter {
                    #expect(hint >= .zero && hint <= WardenClient.longestRetryAfter, context)
                }
            }
        }
    }

    @Test("Every failure without an answer is a typed error; only connection failures are retried")
    func failuresWithoutAnswer() {
        let client = WardenClient(
            configuration: .init(
                baseURL: "http://127.0.0.1:1", retry: .init(maxAttempts: 2, baseDelay: .milliseconds(10), maxDelay: Self.maxDelay)))
        let cases: [(WardenClient.AttemptFailure, WardenClientError.Code)] = [
            (.connection("refused"), .unreachable), (.timeout, .timeout), (.cancelled, .cancelled), (.invalid("x", status: nil), .invalidResponse),
        ]
        for (failure, code) in cases {
            switch client.step(after: .failed(failure), expecting: 1, attempt: 1) {
            case .retry(_, let error): #expect(code == .unreachable && error.code == code)
            case .fail(let error): #expect(code != .unreachable && error.code == code)
            case .done: Issue.record("no answer gave results")
            }
            guard case .fail(let last) = client.step(after: .failed(failure), expecting: 1, attempt: 2) else {
                Issue.record("the last attempt must fail")
                continue
            }
            #expect(last.code == code)
        }
    }
}
