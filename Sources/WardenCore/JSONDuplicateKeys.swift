/// Finds a key that occurs twice in one JSON object. Foundation's decoder keeps the first occurrence while
/// Python's and JavaScript's parsers keep the last, so a gateway that inspects a body with one of those
/// would see another text than the one Warden scores: such bodies are refused.
///
/// A single pass over the bytes, comparing keys after unescaping (`"a"` and `"\u0061"` are the same key).
/// Malformed JSON is left to the decoder (nil is returned where the scan cannot go on).
enum JSONDuplicateKeys {
    /// The dotted path of the first duplicated key (`input`, `thresholds.toxic`), or nil.
    static func first(in bytes: some Collection<UInt8>) -> String? {
        let duplicate: String?? = bytes.withContiguousStorageIfAvailable { buffer in
            var scanner = Scanner(bytes: buffer)
            return scanner.run()
        }
        if let duplicate { return duplicate }
        let copy = Array(bytes)
        return copy.withUnsafeBufferPointer { buffer in
            var scanner = Scanner(bytes: buffer)
            return scanner.run()
        }
    }

    private struct Scanner {
        /// One open container; for an object, its keys so far and the key whose value is being read.
        struct Frame {
            var isObject: Bool
            var keys: Set<String> = []
            var expectingKey: Bool
            var currentKey: String?
        }

        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0
        var stack: [Frame] = []

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func run() -> String? {
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "{"):
                    stack.append(Frame(isObject: true, expectingKey: true))
                    i += 1
                case UInt8(ascii: "["):
                    stack.append(Frame(isObject: false, expectingKey: false))
                    i += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    _ = stack.popLast()
                    i += 1
                case UInt8(ascii: ","):
                    if stack.last?.isObject == true { stack[stack.count - 1].expectingKey = true }
                    i += 1
                case UInt8(ascii: "\""):
                    guard let string = readString() else { return nil }
                    guard let frame = stack.last, frame.isObject, frame.expectingKey else { continue }
                    if frame.keys.contains(string) {
                        let outer = stack.dropLast().compactMap { $0.isObject ? $0.currentKey : nil }
                        return (outer + [string]).joined(separator: ".")
                    }
                    stack[stack.count - 1].keys.insert(string)
                    stack[stack.count - 1].expectingKey = false
                    stack[stack.count - 1].currentKey = string
                default:
                    i += 1
                }
            }
            return nil
        }

        /// Reads a string starting at the opening quote; returns it unescaped, or nil when malformed.
        private mutating func readString() -> String? {
            i += 1
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            while i < bytes.count {
                let byte = bytes[i]
                if byte == UInt8(ascii: "\"") {
                    i += 1
                    if !raw.isEmpty { scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars) }
                    return String(scalars)
                }
                if byte == UInt8(ascii: "\\") {
                    if !raw.isEmpty { scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars); raw = [] }
                    guard i + 1 < bytes.count else { return nil }
                    let escape = bytes[i + 1]
                    i += 2
                    switch escape {
                    case UInt8(ascii: "u"):
                        guard let unit = hex4() else { return nil }
                        if (0xD800...0xDBFF).contains(unit), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                            i += 2
                            guard let low = hex4() else { return nil }
                            let value = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                            scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
                        } else {
                            scalars.append(Unicode.Scalar(UInt32(unit)) ?? "\u{FFFD}")
                        }
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    default: scalars.append(Unicode.Scalar(escape))
                    }
                    continue
                }
                raw.append(byte)
                i += 1
            }
            return nil
        }

        private mutating func hex4() -> UInt16? {
            guard i + 4 <= bytes.count else { return nil }
            var value: UInt16 = 0
            for _ in 0..<4 {
                guard let digit = hexDigit(bytes[i]) else { return nil }
                value = value << 4 | UInt16(digit)
                i += 1
            }
            return value
        }

        private func hexDigit(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
    }
}
