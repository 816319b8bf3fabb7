import Testing
@testable import WardenScore

@Suite struct JSONLineScannerTests {
    /// (key, raw value text) of each member of `line`, or the failure as "message @offset".
    func scan(_ line: String) -> Result<[(String, String)], JSONLineScanner.Failure> {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONLineScanner.Failure) in
                try JSONLineScanner.members(of: buffer).map { ($0.key, String(decoding: buffer[$0.value], as: UTF8.self)) }
            }
        }
    }

    func members(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
        switch scan(line) {
        case .success(let members): return members.map { "\($0.0)=\($0.1)" }
        case .failure(let failure):
            Issue.record("\(failure.message) at \(failure.offset)", sourceLocation: sourceLocation)
            return []
        }
    }

    func failure(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        switch scan(line) {
        case .success: Issue.record("expected \(line) to be rejected", sourceLocation: sourceLocation); return nil
        case .failure(let failure): return "\(failure.message) @\(failure.offset)"
        }
    }

    func decode(_ literal: String) -> String? {
        Array(literal.utf8).withUnsafeBufferPointer { try? JSONLineScanner.decodeString($0) }
    }

    @Test("members in order with their raw values, whitespace around tokens allowed")
    func rawMembers() {
        #expect(members(#" { "a" : 1 , "b":"x\"y" ,"c": [1, {"d": null}], "e": -0.5e+3, "f": true, "g": {} } "#)
            == [#"a=1"#, #"b="x\"y""#, #"c=[1, {"d": null}]"#, "e=-0.5e+3", "f=true", "g={}"])
        #expect(members("{}").isEmpty)
        #expect(members(#"{"a":1,"a":2}"#) == ["a=1", "a=2"])  // duplicates are kept, in order
    }

    @Test("escapes in strings: the short ones, \\u, surrogate pairs, escaped member names")
    func escapes() {
        #expect(decode(#""a\"b\\c\/d\be\ff\ng\rh\ti""#) == "a\"b\\c/d\u{8}e\u{C}f\ng\rh\ti")
        #expect(decode(#""caf\u00e9 \u00E9 \u4e2d""#) == "café é 中")
        #expect(decode(#""\ud83d\ude00 and \uD83C\uDDEB\uD83C\uDDF7""#) == "😀 and 🇫🇷")
        #expect(decode(#""plain, no escapes""#) == "plain, no escapes")
        #expect(decode(#""""#) == "")
        #expect(members(#"{"k\u0065y\n": 1}"#) == ["key\n=1"])
    }

    @Test("broken escapes and surrogates are rejected")
    func badEscapes() {
        #expect(decode(#""\ud83d""#) == nil)           // high surrogate alone
        #expect(decode(#""\ud83d\u0041""#) == nil)     // high surrogate, then not a low one
        #expect(decode(#""\ude00""#) == nil)           // low surrogate alone
        #expect(decode(#""\x41""#) == nil)
        #expect(decode(#""\u12G4""#) == nil)
        #expect(decode(#""\u12""#) == nil)
        #expect(decode(#""unterminated"#) == nil)
        #expect(failure(#"{"a": "\q"}"#) == "invalid escape @8")
        #expect(failure("{\"a\": \"tab\there\"}") == "control character in a string @10")
    }

    @Test("nesting: 512 levels are read, deeper is refused")
    func nesting() {
        let deepest = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(members(#"{"a": \#(deepest)}"#) == ["a=\(deepest)"])
        // A scalar counts as a level too.
        let objects = String(repeating: #"{"x":"#, count: 511) + "0" + String(repeating: "}", count: 511)
        #expect(members(#"{"a": \#(objects)}"#).count == 1)
        #expect(failure(#"{"a": {"x":\#(objects)}}"#) == "nested too deeply @2566")
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(failure(#"{"a": \#(tooDeep)}"#) == "nested too deeply @518")
    }

    @Test("not one JSON object: the message and the byte offset")
    func malformed() {
        #expect(failure("") == "empty line @0")
        #expect(failure("   ") == "empty line @3")
        #expect(failure("[1]") == "expected a JSON object @0")
        #expect(failure(#"{"a": 1} {"b": 2}"#) == "unexpected text after the object @9")
        #expect(failure(#"{"a": 1"#) == "expected ',' or '}' @7")
        #expect(failure(#"{"a" 1}"#) == "expected ':' after a member name @5")
        #expect(failure(#"{a: 1}"#) == "expected a member name in quotes @1")
        #expect(failure(#"{"a": 1,}"#) == "expected a member name in quotes @8")
        #expect(failure(#"{"a": }"#) == "unexpected character @6")
        #expect(failure(#"{"a": tru}"#) == "invalid literal @6")
        #expect(failure(#"{"a": 01}"#) == "expected ',' or '}' @7")
        #expect(failure(#"{"a": 1.}"#) == "invalid number @8")
        #expect(failure(#"{"a": -}"#) == "invalid number @7")
        #expect(failure(#"{"a": 1e}"#) == "invalid number @8")
        #expect(failure(#"{"a": [1 2]}"#) == "expected ',' or ']' @9")
        #expect(failure(#"{"a": {"b" 1}}"#) == "expected ':' after a member name @11")
    }
}
