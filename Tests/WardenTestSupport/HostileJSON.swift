import Foundation

/// Hostile JSON bodies (surrogates, escapes, nesting, numbers), each with the status and the field its error
/// must name (nil: the fault is in no field). Shared by the server, `warden score` and `warden worker` tests.
public let hostileJSONBodies: [(body: String, status: Int, code: String, param: String?)] = [
    // Lone and mismatched surrogates, anywhere in the body.
    (#"{"input":"\ud800\ud800"}"#, 400, "invalid_json", "input"),
    (#"{"input":"hi","user":"\ud800\u0041"}"#, 400, "invalid_json", "user"),
    (#"{"input":"\ud800"}"#, 400, "invalid_json", "input"),
    (#"{"input":"\udc00 trailing"}"#, 400, "invalid_json", "input"),
    (#"{"input":"\ude00\ud83d"}"#, 400, "invalid_json", "input"),
    (#"{"input":["fine","\uDBFF\uDBFF"]}"#, 400, "invalid_json", "input[1]"),
    (#"{"input":[{"type":"text","text":"\ud83d"}]}"#, 400, "invalid_json", "input[0].text"),
    (#"{"input":"x","thresholds":{"\ud800":0.5}}"#, 400, "invalid_json", "thresholds"),
    // Broken escapes and strings.
    (#"{"input":"\x41"}"#, 400, "invalid_json", "input"),
    (#"{"input":"\u12"}"#, 400, "invalid_json", "input"),
    (#"{"input":"unterminated}"#, 400, "invalid_json", "input"),
    (#"{"input":"x","input":"y"}"#, 400, "duplicate_key", "input"),
    // Numbers.
    (#"{"input":"x","deadline_ms":1.5}"#, 400, "invalid_json", "deadline_ms"),
    (#"{"input":"x","deadline_ms":1e308}"#, 400, "invalid_json", "deadline_ms"),
    (#"{"input":"x","deadline_ms":NaN}"#, 400, "invalid_json", "deadline_ms"),
    (#"{"input":"x","deadline_ms":18446744073709551616}"#, 400, "invalid_json", "deadline_ms"),
    (#"{"input":"x","deadline_ms":-1}"#, 422, "invalid_deadline_ms", "deadline_ms"),
    (#"{"input":"x","thresholds":{"toxic":"high"}}"#, 400, "invalid_json", "thresholds.toxic"),
    (#"{"input":1e999}"#, 400, "invalid_json", "input"),
    (#"{"input":-}"#, 400, "invalid_json", "input"),
    // Structure.
    (String(repeating: "[", count: 100_000), 400, "invalid_json", nil),
    (#"{"input":"#.appending(String(repeating: #"{"a":"#, count: 20_000)), 400, "invalid_json", nil),
    (#"{"input":"x",}"#, 400, "invalid_json", nil),
    (#"{"input":"x"} trailing"#, 400, "invalid_json", nil),
]
