/// The one hand-written JSON reader every transport shares: a strict, single-pass validator of one JSON
/// document (RFC 8259) that also enforces the rules Foundation's decoder does not:
///
/// - **No duplicate keys** in any object. Foundation's decoder keeps the first occurrence while Python's and
///   JavaScript's parsers keep the last, so a gateway that inspects a body with one of those would see
///   another text than the one Warden scores. Keys are compared after unescaping (`"a"` and `"\u0061"` are
///   the same key).
/// - **No lone surrogates.** A `\uD800`-`\uDBFF` escape must be followed by a `\uDC00`-`\uDFFF` escape and a
///   low surrogate must follow a high one; anything else (a JavaScript string cut between the two halves of
///   an emoji) is refused, naming the field, rather than silently replaced.
/// - Nesting is limited to ``maxDepth`` levels, so hostile input cannot exhaust the stack.
///
/// Every failure carries the path of the value at fault (`input[1]`, `thresholds.toxic`) and a byte offset.
/// The bytes must be valid UTF-8 (callers check that first); other bytes are never a crash, only text.
/// No string value is copied unless it is a key or asked for.
public struct JSONScanner {
    /// One member of a top-level object: its decoded key and the byte range of its raw value.
    public struct Member: Sendable, Equatable {
        public var key: String
        /// The raw JSON text of the value, as in the input.
        public var value: Range<Int>
    }

    /// Why a document was refused.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable {
            /// Not JSON at all at `offset`.
            case syntax
            /// An object names the key at `path` twice.
            case duplicateKey
            /// A `\u` escape at `path` is half of a surrogate pair.
            case loneSurrogate
            /// Nested deeper than ``JSONScanner/maxDepth``.
            case tooDeep
        }

        public var kind: Kind
        /// What is wrong, for a person (`expected ',' or '}'`).
        public var message: String
        /// Byte offset where the scan stopped.
        public var offset: Int
        /// The dotted path of the value at fault (`input[1]`, `thresholds.toxic`); nil at the top level.
        public var path: String?

        public var description: String {
            (path.map { "\($0): " } ?? "") + "\(message) at byte \(offset)"
        }
    }

    /// The deepest nesting of arrays and objects accepted.
    public static let maxDepth = 512

    private enum Component {
        case key(String)
        case index(Int)
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var path: [Component] = []

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    // MARK: Entry points

    /// Validates `bytes` as one JSON document (any value at the top level, surrounded by optional white space).
    /// - Returns: the members of the top-level object, in order, or nil when the document is not an object.
    @discardableResult
    public static func validate(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> [Member]? {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        guard scanner.i < bytes.count else { throw scanner.fail(.syntax, "empty document") }
        var members: [Member]?
        if scanner.bytes[scanner.i] == UInt8(ascii: "{") {
            members = try scanner.object(depth: 1, collect: true)
        } else {
            try scanner.value(depth: 1)
        }
        scanner.skipWhitespace()
        guard scanner.i == bytes.count else { throw scanner.fail(.syntax, "unexpected text after the JSON value") }
        return members
    }

    /// Validates `bytes`, copying them first when they are not contiguous.
    @discardableResult
    public static func validate(_ bytes: some Collection<UInt8>) throws(Failure) -> [Member]? {
        let result: Result<[Member]?, Failure>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(Failure) in try validate(buffer) }
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer throws(Failure) in try validate(buffer) }
    }

    /// The members of the JSON object in `bytes`, in order (a JSON Lines record).
    /// - Throws: ``Failure`` when `bytes` is not exactly one valid JSON object.
    public static func members(of bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> [Member] {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        guard scanner.peek == UInt8(ascii: "{") else {
            throw scanner.fail(.syntax, scanner.i < bytes.count ? "expected a JSON object" : "empty line")
        }
        let members = try scanner.object(depth: 1, collect: true) ?? []
        scanner.skipWhitespace()
        guard scanner.i == bytes.count else { throw scanner.fail(.syntax, "unexpected text after the object") }
        return members
    }

    /// Decodes the JSON string literal in `bytes` (quotes included, nothing after them).
    public static func decodeString(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> String {
        var scanner = JSONScanner(bytes)
        guard scanner.peek == UInt8(ascii: "\"") else { throw scanner.fail(.syntax, "expected a string") }
        var out: [UInt8] = []
        try scanner.string(into: &out)
        guard scanner.i == bytes.count else { throw scanner.fail(.syntax, "unexpected text after the string") }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Values

    private var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    /// A failure at `i`; nesting too deep is a fault of the body's shape, not of one field, so it names none.
    private func fail(_ kind: Failure.Kind, _ message: String) -> Failure {
        Failure(kind: kind, message: message, offset: i, path: kind == .tooDeep ? nil : pathString())
    }

    private func pathString() -> String? {
        guard !path.isEmpty else { return nil }
        var text = ""
        for component in path {
            switch component {
            case .key(let key): text += text.isEmpty ? key : "." + key
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    private mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) throws(Failure) {
        guard let c = peek else { throw fail(.syntax, "expected a value") }
        switch c {
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "{"): _ = try object(depth: depth, collect: false)
        case UInt8(ascii: "["): try array(depth: depth)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw fail(.syntax, "expected a value")
        }
    }

    /// An object at `i`; its members when `collect` is set. Every key is checked against the others.
    private mutating func object(depth: Int, collect: Bool) throws(Failure) -> [Member]? {
        guard depth <= Self.maxDepth else { throw fail(.tooDeep, "nested deeper than \(Self.maxDepth) levels") }
        i += 1
        var members: [Member]? = collect ? [] : nil
        skipWhitespace()
        if peek == UInt8(ascii: "}") {
            i += 1
            return members
        }
        var keys = Set<String>()
        var keyBytes: [UInt8] = []
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw fail(.syntax, "expected a member name in quotes") }
            keyBytes.removeAll(keepingCapacity: true)
            try string(into: &keyBytes)
            let key = String(decoding: keyBytes, as: UTF8.self)
            path.append(.key(key))
            guard keys.insert(key).inserted else { throw fail(.duplicateKey, "the key is named twice in one object") }
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw fail(.syntax, "expected ':' after a member name") }
            i += 1
            skipWhitespace()
            let start = i
            try value(depth: depth + 1)
            members?.append(Member(key: key, value: start..<i))
            path.removeLast()
            skipWhitespace()
            if peek == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if peek == UInt8(ascii: "}") {
                i += 1
                return members
            }
            throw fail(.syntax, "expected ',' or '}'")
        }
    }

    private mutating func array(depth: Int) throws(Failure) {
        guard depth <= Self.maxDepth else { throw fail(.tooDeep, "nested deeper than \(Self.maxDepth) levels") }
        i += 1
        skipWhitespace()
        if peek == UInt8(ascii: "]") {
            i += 1
            return
        }
        var index = 0
        while true {
            skipWhitespace()
            path.append(.index(index))
            try value(depth: depth + 1)
            path.removeLast()
            index += 1
            skipWhitespace()
            if peek == UInt8(ascii: ",") {
                i += 1
                continue
            }
            if peek == UInt8(ascii: "]") {
                i += 1
                return
            }
            throw fail(.syntax, "expected ',' or ']'")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail(.syntax, "invalid literal") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw fail(.syntax, "invalid literal") }
        i += n
    }

    private mutating func digits() -> Int {
        let start = i
        while let c = peek, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { i += 1 }
        return i - start
    }

    private mutating func number() throws(Failure) {
        if peek == UInt8(ascii: "-") { i += 1 }
        if peek == UInt8(ascii: "0") {
            i += 1
        } else {
            guard digits() > 0 else { throw fail(.syntax, "invalid number") }
        }
        if peek == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw fail(.syntax, "invalid number") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            i += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail(.syntax, "invalid number") }
        }
    }

    // MARK: Strings

    /// Validates a string literal at `i` without copying it.
    private mutating func skipString() throws(Failure) {
        i += 1
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return
            }
            if c < 0x20 { throw fail(.syntax, "control character in a string") }
            if c == UInt8(ascii: "\\") {
                _ = try escape()
                continue
            }
            i += 1
        }
        throw fail(.syntax, "unterminated string")
    }

    /// Decodes a string literal at `i`, appending its UTF-8 bytes to `out`.
    private mutating func string(into out: inout [UInt8]) throws(Failure) {
        i += 1
        var runStart = i
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                i += 1
                return
            }
            if c < 0x20 { throw fail(.syntax, "control character in a string") }
            if c == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                let scalar = try escape()
                var encoded = String(Character(scalar)).utf8.makeIterator()
                while let byte = encoded.next() { out.append(byte) }
                runStart = i
                continue
            }
            i += 1
        }
        throw fail(.syntax, "unterminated string")
    }

    /// One escape sequence at `i` (the backslash), surrogate pairs joined; a lone surrogate is refused.
    private mutating func escape() throws(Failure) -> Unicode.Scalar {
        let start = i
        i += 1
        guard let e = peek else { throw fail(.syntax, "unterminated string") }
        i += 1
        switch e {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try hex4()
            switch unit {
            case 0xD800...0xDBFF:
                guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                    i = start
                    throw fail(.loneSurrogate, "\\u escape is a high surrogate with no low surrogate after it")
                }
                i += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    i = start
                    throw fail(.loneSurrogate, "\\u escape is a high surrogate followed by another character than a low surrogate")
                }
                // 0x10000 + 10 bits + 10 bits is at most 0x10FFFF: always a valid scalar.
                return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
            case 0xDC00...0xDFFF:
                i = start
                throw fail(.loneSurrogate, "\\u escape is a low surrogate with no high surrogate before it")
            default:
                return Unicode.Scalar(unit)!  // not a surrogate: always valid
            }
        default:
            i = start
            throw fail(.syntax, "invalid escape")
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail(.syntax, "invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail(.syntax, "invalid \\u escape")
            }
            value = value << 4 | digit
            i += 1
        }
        return value
    }
}
