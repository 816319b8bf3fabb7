// BERT basic tokenization (text cleaning, CJK splitting, accent stripping, lower-casing, whitespace
// and punctuation splitting), written to match Hugging Face `tokenizers`' `BertNormalizer` +
// `BertPreTokenizer` exactly. It runs over UTF-8 bytes with an ASCII fast path; no Foundation.

/// What the basic tokenizer does with one scalar of the *input* text.
@usableFromInline
enum ScalarClass: UInt8 {
    /// Part of a word.
    case word
    /// Ends the current word (Unicode White_Space, as Rust's `char::is_whitespace`).
    case whitespace
    /// Removed: NUL, U+FFFD and "other" categories Cc, Cf, Co (except \t \n \r, which are whitespace).
    case drop
    /// A word of its own: ASCII 33-47, 58-64, 91-96, 123-126 or a Unicode P* category.
    case punctuation
    /// A CJK ideograph (BERT's ranges): a word of its own.
    case cjk
}

/// Receives the words produced by ``BasicTokenizer``; returns false to stop early.
protocol WordSink {
    mutating func word(_ bytes: UnsafePointer<UInt8>, count: Int, scalarCount: Int) -> Bool
}

@inline(__always)
func asciiClass(_ b: UInt8) -> ScalarClass {
    // Inline constants: bits for 33-47 and 58-63 in the low word; 64, 91-96, 123-126 in the high word.
    let low: UInt64 = 0xFC00_FFFE_0000_0000
    let high: UInt64 = 0x7800_0001_F800_0001
    if b >= 0x20 {
        if b < 64 {
            return (low >> UInt64(b)) & 1 == 1 ? .punctuation : (b == 0x20 ? .whitespace : .word)
        }
        if b == 0x7F { return .drop }
        return (high >> UInt64(b - 64)) & 1 == 1 ? .punctuation : .word
    }
    return (b == 0x09 || b == 0x0A || b == 0x0D) ? .whitespace : .drop
}

@inline(__always)
func isCJK(_ v: UInt32) -> Bool {
    (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3400 && v <= 0x4DBF) || (v >= 0x20000 && v <= 0x2A6DF)
        || (v >= 0x2A700 && v <= 0x2B73F) || (v >= 0x2B740 && v <= 0x2B81F) || (v >= 0x2B920 && v <= 0x2CEAF)
        || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0x2F800 && v <= 0x2FA1F)
}

@inline(__always)
func isUnicodePunctuation(_ p: Unicode.Scalar.Properties) -> Bool {
    switch p.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
        .initialPunctuation, .finalPunctuation, .otherPunctuation:
        return true
    default:
        return false
    }
}

/// Classifies a non-ASCII input scalar (see ``ScalarClass``), using the reference's tables where they
/// differ from the standard library's newer Unicode data (``UnicodeOverrides``).
@inline(never)
func nonASCIIClass(_ v: UInt32) -> ScalarClass {
    if let i = UnicodeOverrides.index(v), let c = ScalarClass(rawValue: UnicodeOverrides.classes[i]) { return c }
    return stdlibClass(v)
}

/// The classification from the standard library's Unicode properties alone.
func stdlibClass(_ v: UInt32) -> ScalarClass {
    if v == 0xFFFD { return .drop }
    let p = Unicode.Scalar(v).unsafelyUnwrapped.properties
    switch p.generalCategory {
    case .control, .format, .privateUse: return .drop
    default: break
    }
    if p.isWhitespace { return .whitespace }
    if isCJK(v) { return .cjk }
    if isUnicodePunctuation(p) { return .punctuation }
    return .word
}

/// How the pre-tokenizer sees a scalar of the *normalised* text: whitespace, punctuation or word.
@inline(__always)
func outputClass(_ v: UInt32) -> ScalarClass {
    if v < 0x80 { return asciiClass(UInt8(truncatingIfNeeded: v)) }
    if let i = UnicodeOverrides.index(v), let c = ScalarClass(rawValue: UnicodeOverrides.classes[i]) {
        return c == .whitespace || c == .punctuation ? c : .word
    }
    let p = Unicode.Scalar(v).unsafelyUnwrapped.properties
    return p.isWhitespace ? .whitespace : (isUnicodePunctuation(p) ? .punctuation : .word)
}

/// NFD of `v` without non-spacing marks, from the standard library's data and the generated table.
@inline(__always)
func stdlibStripAccents(_ v: UInt32, _ emit: (UInt32) -> Void) {
    withDecomposition(v) { d in
        if d >= 0x300 && Unicode.Scalar(d).unsafelyUnwrapped.properties.generalCategory == .nonspacingMark { return }
        emit(d)
    }
}

/// Full lower-case mapping from the standard library.
@inline(__always)
func stdlibLowercase(_ v: UInt32, _ emit: (UInt32) -> Void) {
    if v < 0x80 { return emit(v >= 0x41 && v <= 0x5A ? v | 0x20 : v) }
    let p = Unicode.Scalar(v).unsafelyUnwrapped.properties
    if !p.changesWhenLowercased { return emit(v) }
    for s in p.lowercaseMapping.unicodeScalars { emit(s.value) }
}

/// Calls `body` with the canonical decomposition of `v` (itself when it has none).
@inline(__always)
func withDecomposition(_ v: UInt32, _ body: (UInt32) -> Void) {
    // Hangul syllables: algorithmic decomposition into 2 or 3 jamo.
    if v >= 0xAC00 && v <= 0xD7A3 {
        let s = v - 0xAC00
        body(0x1100 + s / 588)
        body(0x1161 + (s % 588) / 28)
        let t = s % 28
        if t != 0 { body(0x11A7 + t) }
        return
    }
    let keys = UnicodeTables.decompositionKeys
    var lo = 0, hi = keys.count
    while lo < hi {
        let mid = (lo + hi) >> 1
        if keys[mid] < v { lo = mid + 1 } else { hi = mid }
    }
    if lo < keys.count && keys[lo] == v {
        let offsets = UnicodeTables.decompositionOffsets
        let values = UnicodeTables.decompositionValues
        for i in Int(offsets[lo])..<Int(offsets[lo + 1]) { body(values[i]) }
    } else {
        body(v)
    }
}

/// Normalises text and splits it into words, feeding each word's UTF-8 bytes to a ``WordSink``.
struct BasicTokenizer: Sendable {
    let lowercase: Bool
    let stripAccents: Bool
    let tokenizeChineseChars: Bool

    /// Scratch state for one text.
    private struct State {
        var word: [UInt8] = []
        var scalars = 0
        var stopped = false

        init() { word.reserveCapacity(128) }

        @inline(__always)
        mutating func flush<S: WordSink>(_ sink: inout S) {
            if word.isEmpty { return }
            let n = scalars
            let keep = word.withUnsafeBufferPointer { sink.word($0.baseAddress!, count: $0.count, scalarCount: n) }
            word.removeAll(keepingCapacity: true)
            scalars = 0
            if !keep { stopped = true }
        }

        @inline(__always)
        mutating func append(_ v: UInt32) {
            scalars += 1
            if v < 0x80 {
                word.append(UInt8(truncatingIfNeeded: v))
            } else if v < 0x800 {
                word.append(UInt8(truncatingIfNeeded: 0xC0 | (v >> 6)))
                word.append(UInt8(truncatingIfNeeded: 0x80 | (v & 0x3F)))
            } else if v < 0x10000 {
                word.append(UInt8(truncatingIfNeeded: 0xE0 | (v >> 12)))
                word.append(UInt8(truncatingIfNeeded: 0x80 | ((v >> 6) & 0x3F)))
                word.append(UInt8(truncatingIfNeeded: 0x80 | (v & 0x3F)))
            } else {
                word.append(UInt8(truncatingIfNeeded: 0xF0 | (v >> 18)))
                word.append(UInt8(truncatingIfNeeded: 0x80 | ((v >> 12) & 0x3F)))
                word.append(UInt8(truncatingIfNeeded: 0x80 | ((v >> 6) & 0x3F)))
                word.append(UInt8(truncatingIfNeeded: 0x80 | (v & 0x3F)))
            }
        }
    }

    /// Runs basic tokenization over `text`, stopping when the sink returns false.
    func forEachWord<S: WordSink>(in text: String, _ sink: inout S) {
        var text = text
        text.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return }
            run(base, count: buffer.count, &sink)
        }
    }

    @inline(__always)
    private func run<S: WordSink>(_ p: UnsafePointer<UInt8>, count n: Int, _ sink: inout S) {
        var state = State()
        let lower = lowercase
        var i = 0
        while i < n {
            let b = p[i]
            if b < 0x80 {
                i += 1
                switch asciiClass(b) {
                case .word:
                    state.scalars += 1
                    state.word.append(lower && b >= 0x41 && b <= 0x5A ? b | 0x20 : b)
                case .whitespace:
                    state.flush(&sink)
                case .punctuation:
                    state.flush(&sink)
                    state.scalars = 1
                    state.word.append(b)
                    state.flush(&sink)
                case .drop, .cjk:
                    break
                }
                if state.stopped { return }
                continue
            }
            // Decode one scalar (the input is valid UTF-8: it comes from a String).
            var v: UInt32
            if b < 0xE0 {
                v = (UInt32(b & 0x1F) << 6) | UInt32(p[i + 1] & 0x3F)
                i += 2
            } else if b < 0xF0 {
                v = (UInt32(b & 0x0F) << 12) | (UInt32(p[i + 1] & 0x3F) << 6) | UInt32(p[i + 2] & 0x3F)
                i += 3
            } else {
                v =
                    (UInt32(b & 0x07) << 18) | (UInt32(p[i + 1] & 0x3F) << 12) | (UInt32(p[i + 2] & 0x3F) << 6)
                    | UInt32(p[i + 3] & 0x3F)
                i += 4
            }
            nonASCII(v, &state, &sink)
            if state.stopped { return }
        }
        state.flush(&sink)
    }

    /// Slow path for one non-ASCII input scalar.
    @inline(never)
    private func nonASCII<S: WordSink>(_ v: UInt32, _ state: inout State, _ sink: inout S) {
        var cls = nonASCIIClass(v)
        if cls == .cjk && !tokenizeChineseChars { cls = .word }
        switch cls {
        case .drop:
            return
        case .whitespace:
            state.flush(&sink)
            return
        case .cjk:
            state.flush(&sink)
            normalize(v) { state.append($0) }
            state.flush(&sink)
        case .word, .punctuation:
            // The pre-tokenizer looks at the normalised scalars, so classify those.
            normalize(v) { out in
                if state.stopped { return }
                let c = outputClass(out)
                switch c {
                case .whitespace:
                    state.flush(&sink)
                case .punctuation:
                    state.flush(&sink)
                    state.append(out)
                    state.flush(&sink)
                default:
                    state.append(out)
                }
            }
        }
    }

    /// Accent stripping (NFD, then drop Mn) followed by lower-casing, as `BertNormalizer` orders them.
    @inline(__always)
    private func normalize(_ v: UInt32, _ emit: (UInt32) -> Void) {
        if stripAccents {
            if let i = UnicodeOverrides.index(v), let range = UnicodeOverrides.stripped(i) {
                for k in range { lowercased(UnicodeOverrides.values[k], emit) }
                return
            }
            stdlibStripAccents(v) { lowercased($0, emit) }
        } else {
            lowercased(v, emit)
        }
    }

    @inline(__always)
    private func lowercased(_ v: UInt32, _ emit: (UInt32) -> Void) {
        if !lowercase { return emit(v) }
        if v >= 0x80, let i = UnicodeOverrides.index(v), let range = UnicodeOverrides.lowercased(i) {
            for k in range { emit(UnicodeOverrides.values[k]) }
            return
        }
        stdlibLowercase(v, emit)
    }
}

extension WordPieceTokenizer {
    /// ``_stdlibUnicodeFacts(_:)`` of every scalar, one line each: `hex<TAB>facts`.
    public static func _stdlibUnicodeFactsTable() -> String {
        var table = ""
        for v in UInt32(0)...0x10FFFF where Unicode.Scalar(v) != nil {
            table += String(v, radix: 16) + "\t" + _stdlibUnicodeFacts(v) + "\n"
        }
        return table
    }

    /// Unicode facts of one scalar from the standard library alone (no overrides), for
    /// `scripts/generate/make_unicode_overrides.py`: "class<TAB>stripped scalars<TAB>lower-cased scalars" (hex).
    public static func _stdlibUnicodeFacts(_ v: UInt32) -> String {
        let cls: String
        switch v < 0x80 ? asciiClass(UInt8(v)) : stdlibClass(v) {
        case .word: cls = "word"
        case .whitespace: cls = "whitespace"
        case .drop: cls = "drop"
        case .punctuation: cls = "punctuation"
        case .cjk: cls = "cjk"
        }
        var stripped: [String] = []
        stdlibStripAccents(v) { stripped.append(String($0, radix: 16)) }
        var lower: [String] = []
        stdlibLowercase(v) { lower.append(String($0, radix: 16)) }
        return cls + "\t" + stripped.joined(separator: ",") + "\t" + lower.joined(separator: ",")
    }
}
