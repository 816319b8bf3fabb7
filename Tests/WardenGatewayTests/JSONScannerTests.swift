import Foundation
import Testing
import WardenGateway

@Suite struct JSONScannerTests {
    /// (key, raw value text) of each member of `line`, or the failure.
    func scan(_ line: String) -> Result<[(String, String)], JSONScanner.Failure> {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONScanner.Failure) in
                try JSONScanner.members(of: buffer).map { ($0.key, String(decoding: buffer[$0.value], as: UTF8.self)) }
            }
        }
    }

    func members(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
        switch scan(line) {
        case .success(let members): return members.map { "\($0.0)=\($0.1)" }
        case .failure(let failure):
            Issue.record("\(failure)", sourceLocation: sourceLocation)
            return []
        }
    }

    /// "message @offset" of a refused line.
    func failure(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        switch scan(line) {
        case .success:
            Issue.record("expected \(line) to be rejected", sourceLocation: sourceLocation)
            return nil
        case .failure(let failure): return "\(failure.message) @\(failure.offset)"
        }
    }

    /// The refusal of a whole document, any top-level value.
    func refusal(_ document: String) -> JSONScanner.Failure? {
        do {
            try JSONScanner.validate(Array(document.utf8))
            return nil
        } catch {
            return error
        }
    }

    func decode(_ literal: String) -> String? {
        Array(literal.utf8).withUnsafeBufferPointer { try? JSONScanner.decodeString($0) }
    }

    @Test("members in order with their raw values, whitespace around tokens allowed")
    func rawMembers() {
        #expect(
            members(#" { "a" : 1 , "b":"x\"y" ,"c": [1, {"d": null}], "e": -0.5e+3, "f": true, "g": {} } "#)
                == [#"a=1"#, #"b="x\"y""#, #"c=[1, {"d": null}]"#, "e=-0.5e+3", "f=true", "g={}"])
        #expect(members("{}").isEmpty)
    }

    @Test("escapes in strings: the short ones, \\u, surrogate pairs, escaped member names")
    func escapes() {
        #expect(decode(#""a\"b\\c\/d\be\ff\ng\rh\ti""#) == "a\"b\\c/d\u{8}e\u{C}f\ng\rh\ti")
        #expect(decode(#""caf\u00e9 \u00E9 \u4e2d""#) == "café é 中")
        #expect(decode(#""\ud83d\ude00 and \uD83C\uDDEB\uD83C\uDDF7""#) == "😀 and 🇫🇷")
        #expect(decode(#""plain, no escapes""#) == "plain, no escapes")
        #expect(decode(#""\u0000""#) == "\u{0}")
        #expect(decode(#""""#) == "")
        #expect(members(#"{"k\u0065y\n": 1}"#) == ["key\n=1"])
    }

    @Test("a key named twice in any object is refused, compared after unescaping, with its path")
    func duplicateKeys() {
        for (document, path) in [
            (#"{"a":1,"a":2}"#, "a"),
            (#"{"input":"x","\u0069nput":"y"}"#, "input"),
            (#"{"thresholds":{"toxic":0.1,"toxic":0.9}}"#, "thresholds.toxic"),
            (#"{"input":[{"type":"text","text":"a","text":"b"}]}"#, "input[0].text"),
            (#"[{"k":1},{"k":1,"k":2}]"#, "[1].k"),
        ] {
            let failure = refusal(document)
            #expect(failure?.kind == .duplicateKey, "\(document)")
            #expect(failure?.path == path, "\(document)")
        }
        // The same key in two sibling objects is fine.
        #expect(refusal(#"[{"k":1},{"k":2}]"#) == nil)
    }

    @Test("lone and mismatched surrogates are refused, naming the field, wherever they are")
    func surrogates() {
        for (document, path) in [
            (#"{"input":"\ud800\ud800"}"#, "input"),  // high, then another high
            (#"{"input":"\ud800"}"#, "input"),  // high at the end of the string
            (#"{"input":"\ud800x"}"#, "input"),  // high, then a plain character
            (#"{"input":"\ud800\n"}"#, "input"),  // high, then another escape
            (#"{"input":"\udc00"}"#, "input"),  // low alone
            (#"{"input":"\ude00\ud83d"}"#, "input"),  // a pair in the wrong order
            (#"{"input":"hi","user":"\ud800\u0041"}"#, "user"),  // in a field Warden ignores
            (#"{"input":["ok","\uDBFF\uDBFF"]}"#, "input[1]"),
            (#"{"\ud800":1}"#, nil),  // in a key: the path of the object holding it
        ] {
            let failure = refusal(document)
            #expect(failure?.kind == .loneSurrogate, "\(document)")
            #expect(failure?.path == path, "\(document)")
        }
        #expect(refusal(#"{"input":"\ud83d\ude00 \uDBFF\uDFFF"}"#) == nil)
        #expect(decode(#""\udbff\udfff""#) == "\u{10FFFF}")
    }

    @Test("broken escapes are refused")
    func badEscapes() {
        #expect(decode(#""\x41""#) == nil)
        #expect(decode(#""\u12G4""#) == nil)
        #expect(decode(#""\u12""#) == nil)
        #expect(decode(#""\ud83d\u12""#) == nil)
        #expect(decode(#""\"#) == nil)
        #expect(decode(#""unterminated"#) == nil)
        #expect(decode(#""a" "#) == nil)
        #expect(failure(#"{"a": "\q"}"#) == "invalid escape @7")
        #expect(failure("{\"a\": \"tab\there\"}") == "control character in a string @10")
    }

    @Test("nesting: 512 containers are read, deeper is refused before the stack is at risk")
    func nesting() {
        let deepest = String(repeating: "[", count: 511) + String(repeating: "]", count: 511)
        #expect(members(#"{"a": \#(deepest)}"#) == ["a=\(deepest)"])
        let tooDeep = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(failure(#"{"a": \#(tooDeep)}"#) == "nested deeper than 512 levels @517")
        let hostile = String(repeating: "[", count: 1_000_000)
        #expect(refusal(hostile)?.kind == .tooDeep)
        let objects = String(repeating: #"{"x":"#, count: 100_000)
        #expect(refusal(objects)?.kind == .tooDeep)
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
        #expect(failure(#"{"a": }"#) == "expected a value @6")
        #expect(failure(#"{"a": tru}"#) == "invalid literal @6")
        #expect(failure(#"{"a": 01}"#) == "expected ',' or '}' @7")
        #expect(failure(#"{"a": 1.}"#) == "invalid number @8")
        #expect(failure(#"{"a": -}"#) == "invalid number @7")
        #expect(failure(#"{"a": 1e}"#) == "invalid number @8")
        #expect(failure(#"{"a": NaN}"#) == "expected a value @6")
        #expect(failure(#"{"a": [1 2]}"#) == "expected ',' or ']' @9")
        #expect(failure(#"{"a": {"b" 1}}"#) == "expected ':' after a member name @11")
    }

    @Test("syntax failures name the value being read")
    func syntaxPaths() {
        #expect(refusal(#"{"deadline_ms": NaN}"#)?.path == "deadline_ms")
        #expect(refusal(#"{"input": ["a", tru]}"#)?.path == "input[1]")
        #expect(refusal(#"{"thresholds": {"toxic": .5}}"#)?.path == "thresholds.toxic")
        #expect(refusal("{}x")?.path == nil)
    }

    /// Foundation's parser accepts trailing commas (`[1,]`), which RFC 8259 and the other parsers a gateway
    /// may use do not: the scanner refuses them. Otherwise the verdicts agree.
    @Test("any top-level value; the same verdict as JSONSerialization, except that trailing commas are refused")
    func agreesWithFoundation() {
        let documents = [
            "0", "-0", "1e5", "true", "null", #""s""#, "[]", "{}", " [1, 2.5, -3e-2, \"x\", {\"a\": [null]}] ",
            "", " ", "01", "1.", ".5", "+1", "[1,]", "{\"a\":1,}", "[", "]", "{\"a\"}", "\"\\u00\"", "nul", "[1 2]",
            "\"\u{7F}\"", "\"tab\t\"", "1 2", "{\"a\":1}}", "[\"\\/\"]",
        ]
        for document in documents {
            let ours = refusal(document) == nil
            let foundation = (try? JSONSerialization.jsonObject(with: Data(document.utf8), options: .fragmentsAllowed)) != nil
            let trailingComma = document.contains(",]") || document.contains(",}")
            #expect(ours == (foundation && !trailingComma), "\(document.debugDescription): ours \(ours), JSONSerialization \(foundation)")
        }
    }
}
