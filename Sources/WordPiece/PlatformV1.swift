/// The rules of platform-v1 over UTF-8 bytes. Every pattern is ASCII, so working on bytes is exact:
/// a byte of a multi-byte scalar is never an ASCII letter, digit, whitespace or symbol.
enum PlatformV1 {
    @inline(__always) static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C || b == 0x0B
    }
    @inline(__always) static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }
    @inline(__always) static func isWordByte(_ b: UInt8) -> Bool { isAlnum(b) || b == 0x5F }
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    static func appendScalar(_ v: UInt32, to out: inout [UInt8]) {
        out.append(contentsOf: String(Unicode.Scalar(v)!).utf8)
    }

    /// Rule 1. At each position, try to match an entity; on a match emit its value (or the entity
    /// itself when the number is not a valid scalar) and continue after it.
    static func decodeEntities(_ s: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        let n = s.count
        var i = 0
        outer: while i < n {
            if s[i] != UInt8(ascii: "&") {
                out.append(s[i])
                i += 1
                continue
            }
            // Named entities (case-sensitive).
            let names: [(String, UInt32)] = [("amp", 0x26), ("lt", 0x3C), ("gt", 0x3E), ("quot", 0x22), ("apos", 0x27), ("nbsp", 0x20)]
            for (name, value) in names {
                let nb = Array(name.utf8)
                let end = i + 1 + nb.count
                if end < n && Array(s[(i + 1)..<end]) == nb && s[end] == UInt8(ascii: ";") {
                    out.append(UInt8(value))
                    i = end + 1
                    continue outer
                }
            }
            if i + 1 < n && s[i + 1] == UInt8(ascii: "#") {
                var j = i + 2
                var hex = false
                if j < n && (s[j] == UInt8(ascii: "x") || s[j] == UInt8(ascii: "X")) {
                    hex = true
                    j += 1
                }
                let digitsStart = j
                var value: UInt64 = 0
                while j < n && j - digitsStart < (hex ? 6 : 7) {
                    let b = s[j]
                    var d: UInt64
                    if b >= 0x30 && b <= 0x39 {
                        d = UInt64(b - 0x30)
                    } else if hex && lower(b) >= 0x61 && lower(b) <= 0x66 {
                        d = UInt64(lower(b) - 0x61 + 10)
                    } else {
                        break
                    }
                    value = value * (hex ? 16 : 10) + d
                    j += 1
                }
                if j > digitsStart && j < n && s[j] == UInt8(ascii: ";") {
                    if value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF) {
                        out.append(contentsOf: s[i...j])
                    } else {
                        appendScalar(UInt32(value), to: &out)
                    }
                    i = j + 1
                    continue
                }
                // Python's regex backtracks into the decimal alternative's digits, but a shorter run is
                // still followed by a digit, never by ';', so no other match exists here. For "&#x...",
                // the decimal alternative cannot match "x" either.
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// Rule 2.
    static func replaceURLs(_ s: [UInt8]) -> [UInt8] {
        let n = s.count
        var out: [UInt8] = []
        out.reserveCapacity(n)
        var i = 0
        while i < n {
            let b = lower(s[i])
            if (b == UInt8(ascii: "h") || b == UInt8(ascii: "w")) && (i == 0 || !isAlnum(s[i - 1])) {
                var j = -1
                if b == UInt8(ascii: "h"), i + 7 <= n, lower(s[i + 1]) == UInt8(ascii: "t"),
                    lower(s[i + 2]) == UInt8(ascii: "t"), lower(s[i + 3]) == UInt8(ascii: "p")
                {
                    var k = i + 4
                    if lower(s[k]) == UInt8(ascii: "s") { k += 1 }
                    if k + 3 <= n && s[k] == UInt8(ascii: ":") && s[k + 1] == UInt8(ascii: "/") && s[k + 2] == UInt8(ascii: "/") {
                        j = k + 3
                    }
                } else if b == UInt8(ascii: "w"), i + 4 <= n, lower(s[i + 1]) == UInt8(ascii: "w"),
                    lower(s[i + 2]) == UInt8(ascii: "w"), s[i + 3] == UInt8(ascii: ".")
                {
                    j = i + 4
                }
                if j >= 0 {
                    while j < n && !isSpace(s[j]) { j += 1 }
                    out.append(contentsOf: "http".utf8)
                    i = j
                    continue
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// Rule 3: "RT" + spaces + "@" + word bytes + optional ":" at the start or after whitespace.
    static func removeRetweetMarkers(_ s: [UInt8]) -> [UInt8] {
        let n = s.count
        var out: [UInt8] = []
        out.reserveCapacity(n)
        var i = 0
        while i < n {
            if s[i] == UInt8(ascii: "R") && (i == 0 || isSpace(s[i - 1])) && i + 1 < n && s[i + 1] == UInt8(ascii: "T") {
                var j = i + 2
                let spaces = j
                while j < n && s[j] == 0x20 { j += 1 }
                if j > spaces && j < n && s[j] == UInt8(ascii: "@") {
                    j += 1
                    let word = j
                    while j < n && isWordByte(s[j]) { j += 1 }
                    if j > word {
                        if j < n && s[j] == UInt8(ascii: ":") { j += 1 }
                        i = j
                        continue
                    }
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// Rule 4.
    static func replaceHandles(_ s: [UInt8]) -> [UInt8] {
        let n = s.count
        var out: [UInt8] = []
        out.reserveCapacity(n + 16)
        var i = 0
        while i < n {
            if s[i] == UInt8(ascii: "@") && i + 1 < n && isWordByte(s[i + 1]) {
                var j = i + 1
                while j < n && isWordByte(s[j]) { j += 1 }
                out.append(contentsOf: "@user".utf8)
                i = j
                continue
            }
            out.append(s[i])
            i += 1
        }
        return out
    }
}
