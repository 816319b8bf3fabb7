/// The obfuscation folds of platform-v2 (see ``TextNormalization/platformV2``), an exact port of
/// `normalize_platform_v2` in `scripts/warden_tools/warden_text.py`, checked against `Tests/Fixtures/normalization_golden.jsonl`.
///
/// Everything works on UTF-8 bytes without allocating per character. Rules 5, 8 and 9 only read and write
/// ASCII, so working on bytes is exact for them: a byte of a multi-byte scalar (>= 0x80) is never an ASCII
/// letter, digit or separator, just as the Python reference's non-ASCII scalars are none of those.
enum PlatformV2 {
    /// platform-v2, rules in the reference's order.
    static func normalize(_ text: String) -> String {
        var bytes = Array(text.utf8)
        if bytes.contains(UInt8(ascii: "&")) { bytes = PlatformV1.decodeEntities(bytes) }
        if bytes.contains(where: { $0 >= 0x80 }) { bytes = foldScalars(bytes) }
        bytes = PlatformV1.replaceURLs(bytes)
        foldLeet(&bytes)
        if bytes.contains(UInt8(ascii: "@")) {
            bytes = PlatformV1.removeRetweetMarkers(bytes)
            bytes = PlatformV1.replaceHandles(bytes)
        }
        bytes = joinSpacedLetters(bytes)
        bytes = collapseStretchedLetters(bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always) static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }

    // MARK: Rules 2 and 3: invisible scalars removed, homoglyphs folded

    /// Whether `scalar` is Default_Ignorable_Code_Point (binary search over the generated ranges).
    static func isInvisible(_ scalar: UInt32) -> Bool {
        let lower = PlatformV2Tables.invisibleLower
        var lo = 0
        var hi = lower.count
        while lo < hi {  // first range whose lower bound is > scalar
            let mid = (lo + hi) / 2
            if lower[mid] <= scalar { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 && scalar <= PlatformV2Tables.invisibleUpper[lo - 1]
    }

    /// The ASCII byte `scalar` folds to, if any (binary search over the generated table).
    static func fold(_ scalar: UInt32) -> UInt8? {
        let keys = PlatformV2Tables.foldKeys
        var lo = 0
        var hi = keys.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if keys[mid] < scalar { lo = mid + 1 } else { hi = mid }
        }
        return lo < keys.count && keys[lo] == scalar ? PlatformV2Tables.foldValues[lo] : nil
    }

    /// Rules 2 and 3 over valid UTF-8 (it comes from a `String`, and entity decoding appends whole scalars).
    static func foldScalars(_ s: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        let n = s.count
        var i = 0
        while i < n {
            let b = s[i]
            if b < 0x80 {
                out.append(b)
                i += 1
                continue
            }
            let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
            var scalar = UInt32(b) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            for k in 1..<length { scalar = scalar << 6 | (UInt32(s[i + k]) & 0x3F) }
            if isInvisible(scalar) {
                // removed
            } else if let ascii = fold(scalar) {
                out.append(ascii)
            } else {
                out.append(contentsOf: s[i..<i + length])
            }
            i += length
        }
        return out
    }

    // MARK: Rule 5: leetspeak

    @inline(__always) static func isLeetTokenByte(_ b: UInt8) -> Bool {
        PlatformV1.isAlnum(b) || b == UInt8(ascii: "@") || b == UInt8(ascii: "$") || b == UInt8(ascii: "!")
    }

    @inline(__always) static func leetLetter(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0"): UInt8(ascii: "o")
        case UInt8(ascii: "1"), UInt8(ascii: "!"): UInt8(ascii: "i")
        case UInt8(ascii: "3"): UInt8(ascii: "e")
        case UInt8(ascii: "4"), UInt8(ascii: "@"): UInt8(ascii: "a")
        case UInt8(ascii: "5"), UInt8(ascii: "$"): UInt8(ascii: "s")
        case UInt8(ascii: "7"): UInt8(ascii: "t")
        default: nil
        }
    }

    /// Rule 5, in place: in each maximal run of `[A-Za-z0-9@$!]` that has an ASCII letter and none of
    /// `2 6 8 9`, the leet characters with a letter somewhere before and after them in the run become letters.
    static func foldLeet(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBufferPointer { foldLeet(in: $0) }
    }

    private static func foldLeet(in s: UnsafeMutableBufferPointer<UInt8>) {
        let n = s.count
        var start = 0
        while start < n {
            guard isLeetTokenByte(s[start]) else {
                start += 1
                continue
            }
            var end = start
            var first = -1
            var last = -1
            var excluded = false
            while end < n && isLeetTokenByte(s[end]) {
                let b = s[end]
                if isLetter(b) {
                    if first < 0 { first = end }
                    last = end
                } else if b == UInt8(ascii: "2") || b == UInt8(ascii: "6") || b == UInt8(ascii: "8") || b == UInt8(ascii: "9") {
                    excluded = true
                }
                end += 1
            }
            if !excluded && first >= 0 && last - first > 1 {
                for k in (first + 1)..<last {
                    if let letter = leetLetter(s[k]) { s[k] = letter }
                }
            }
            start = end
        }
    }

    // MARK: Rule 8: spaced-out letters

    @inline(__always) static func isSeparator(_ b: UInt8) -> Bool {
        b == 0x20 || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: "*")
    }

    /// Rule 8: whether `s[k]` is a single letter for the separator `sep`: an ASCII letter whose neighbours
    /// are neither ASCII letters or digits nor a non-space separator other than `sep` with a letter beyond.
    @inline(__always) static func isSingleLetter(_ s: UnsafeBufferPointer<UInt8>, _ k: Int, _ sep: UInt8) -> Bool {
        func otherSeparator(_ j: Int, _ step: Int) -> Bool {
            let b = s[j]
            return b != 0x20 && isSeparator(b) && b != sep && j + step >= 0 && j + step < s.count && isLetter(s[j + step])
        }
        guard isLetter(s[k]) else { return false }
        if k > 0 && (PlatformV1.isAlnum(s[k - 1]) || otherSeparator(k - 1, -1)) { return false }
        if k + 1 < s.count && (PlatformV1.isAlnum(s[k + 1]) || otherSeparator(k + 1, 1)) { return false }
        return true
    }

    /// Rule 8: runs of >= 3 single letters with the same separator between each pair lose the separators;
    /// left to right, the longest run at each position.
    /// Returns `bytes` itself (no copy) when nothing changes.
    static func joinSpacedLetters(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { joinSpacedLetters(in: $0) } ?? bytes
    }

    /// nil when nothing changes.
    private static func joinSpacedLetters(in s: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let n = s.count
        var out: [UInt8] = []
        var copied = 0  // s[..<copied] is accounted for in out
        var i = 0
        while i < n {
            if i + 2 < n && isSeparator(s[i + 1]) && isSingleLetter(s, i, s[i + 1]) {
                let sep = s[i + 1]
                var last = i
                while last + 2 < n && s[last + 1] == sep && isSingleLetter(s, last + 2, sep) { last += 2 }
                if last - i >= 4 {
                    if out.isEmpty { out.reserveCapacity(n) }
                    out.append(contentsOf: s[copied..<i])
                    for k in stride(from: i, through: last, by: 2) { out.append(s[k]) }
                    i = last + 1
                    copied = i
                    continue
                }
            }
            i += 1
        }
        if copied == 0 { return nil }
        out.append(contentsOf: s[copied...])
        return out
    }

    // MARK: Rule 9: stretched letters

    /// How many letters of a stretched run (>= 3 equal letters, ignoring case) are kept (the reference's
    /// `STRETCH_KEEP`).
    static let stretchKeep = 1

    /// Rule 9. Returns `bytes` itself (no copy) when nothing changes.
    static func collapseStretchedLetters(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { collapseStretchedLetters(in: $0) } ?? bytes
    }

    /// nil when nothing changes.
    private static func collapseStretchedLetters(in s: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let n = s.count
        var out: [UInt8] = []
        var copied = 0  // s[..<copied] is accounted for in out
        var i = 0
        while i < n {
            let b = s[i]
            guard isLetter(b) else {
                i += 1
                continue
            }
            var j = i + 1
            while j < n && (s[j] | 0x20) == (b | 0x20) && isLetter(s[j]) { j += 1 }
            if j - i >= 3 {
                if out.isEmpty { out.reserveCapacity(n) }
                out.append(contentsOf: s[copied..<i + stretchKeep])
                copied = j
            }
            i = j
        }
        if copied == 0 { return nil }
        out.append(contentsOf: s[copied...])
        return out
    }
}
