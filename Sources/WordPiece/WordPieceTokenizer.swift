import Foundation  // file loading only; the encoding path below uses the standard library alone.

/// A BERT WordPiece tokenizer (uncased BERT / all-MiniLM-L6-v2 style), identical to Hugging Face
/// `tokenizers` (`BertNormalizer` + `BertPreTokenizer` + `WordPiece`) on ordinary text.
///
/// Pipeline, per text:
/// 1. Cleaning: NUL, U+FFFD and scalars of category Cc, Cf or Co are removed (\t \n \r are whitespace);
///    Unicode White_Space scalars separate words.
/// 2. CJK ideographs (BERT's ranges; not kana, not Hangul) become words of their own.
/// 3. If `stripAccents`: canonical decomposition (NFD; Hangul syllables decompose into jamo) and removal
///    of non-spacing marks (Mn). No NFKC: full-width letters stay full-width (and usually become `[UNK]`).
/// 4. If `lowercase`: per-scalar full lower-case mapping (U+0130 becomes "i" + U+0307, no final-sigma rule).
/// 5. Punctuation (ASCII 33-47, 58-64, 91-96, 123-126 or any Unicode P* category) forms single-scalar words.
/// 6. WordPiece: greedy longest-match-first with `##` continuations; a word longer than
///    `maxInputCharsPerWord` scalars, or one that cannot be fully split, becomes a single `[UNK]`.
///
/// - Important: **Special tokens typed by users are neutralised.** Hugging Face `tokenizers` matches the
///   literal strings `[CLS]`, `[SEP]`, `[PAD]`, `[MASK]` and `[UNK]` in the raw text and emits their
///   special ids; Warden does not. Such literals are tokenized as ordinary text (`"[CLS]"` becomes
///   `[`, `cl`, `##s`, `]`), so a user cannot inject sequence structure. This is the only intended
///   difference from the reference.
///
/// Unicode data: the standard library's properties, plus ``UnicodeOverrides`` (generated) for the
/// ~660 scalars where the reference's older Unicode tables disagree, plus a generated NFD table
/// (the standard library has no public NFD). Every scalar is checked against the reference in tests.
///
/// Known limit: after accent stripping, the rare surviving non-starter marks of category Mc (some
/// viramas, U+302E/U+302F, musical symbols U+1D165...) are not canonically re-ordered among themselves
/// as the reference's NFD does. No piece of the all-MiniLM-L6-v2 vocabulary contains such a mark, so a
/// word holding one is `[UNK]` either way and the ids are unaffected; only ``basicTokens(_:)`` can differ.
///
/// The type is an immutable value: share one instance across tasks and threads.
public struct WordPieceTokenizer: Sendable {
    /// The settings this tokenizer was built with.
    public let configuration: TokenizerConfiguration
    /// Number of entries in the vocabulary (every id is in `0 ..< vocabularySize`).
    public let vocabularySize: Int
    public let clsID: Int32
    public let sepID: Int32
    public let padID: Int32
    public let unkID: Int32
    /// The id of the mask token, when the vocabulary has one.
    public let maskID: Int32?

    private let pieces: [String]
    private let initial: VocabularyTable
    private let continuation: VocabularyTable
    private let basic: BasicTokenizer

    /// Loads `vocab.txt` (one piece per line; the line number is the id) and `tokenizer_config.json`
    /// (see ``TokenizerConfiguration``) from `directory`.
    public init(directory: String) throws(TokenizerError) {
        let dir = URL(fileURLWithPath: directory, isDirectory: true)
        let vocabURL = dir.appendingPathComponent("vocab.txt")
        let configURL = dir.appendingPathComponent("tokenizer_config.json")
        let vocabData: Data
        let configData: Data
        do { vocabData = try Data(contentsOf: vocabURL) } catch {
            throw TokenizerError(.unreadableFile(path: vocabURL.path, reason: String(describing: error)))
        }
        do { configData = try Data(contentsOf: configURL) } catch {
            throw TokenizerError(.unreadableFile(path: configURL.path, reason: String(describing: error)))
        }
        let configuration: TokenizerConfiguration
        do { configuration = try JSONDecoder().decode(TokenizerConfiguration.self, from: configData) } catch {
            throw TokenizerError(.invalidConfiguration(path: configURL.path, reason: String(describing: error)))
        }
        let text: String
        do { text = try Self.decodeUTF8(vocabData) } catch {
            throw TokenizerError(.unreadableFile(path: vocabURL.path, reason: error.description))
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        try self.init(vocabulary: lines, configuration: configuration)
    }

    /// Builds a tokenizer from the vocabulary in id order and its settings.
    public init(vocabulary: [String], configuration: TokenizerConfiguration) throws(TokenizerError) {
        guard !vocabulary.isEmpty else { throw TokenizerError(.emptyVocabulary) }
        guard vocabulary.count < Int(Int32.max) else { throw TokenizerError(.vocabularyTooLarge(vocabulary.count)) }
        let prefix = Array(configuration.continuingSubwordPrefix.utf8)
        var initialEntries: [(key: [UInt8], id: Int32)] = []
        var continuationEntries: [(key: [UInt8], id: Int32)] = []
        var firstID: [String: Int32] = [:]
        for (index, piece) in vocabulary.enumerated() {
            let id = Int32(index)
            if firstID[piece] == nil { firstID[piece] = id }
            let bytes = Array(piece.utf8)
            if !prefix.isEmpty && bytes.count >= prefix.count && bytes[..<prefix.count].elementsEqual(prefix) {
                continuationEntries.append((Array(bytes[prefix.count...]), id))
            } else {
                initialEntries.append((bytes, id))
            }
        }
        func special(_ token: String) throws(TokenizerError) -> Int32 {
            guard let id = firstID[token] else { throw TokenizerError(.missingSpecialToken(token)) }
            return id
        }
        self.configuration = configuration
        self.vocabularySize = vocabulary.count
        self.clsID = try special(configuration.clsToken)
        self.sepID = try special(configuration.sepToken)
        self.padID = try special(configuration.padToken)
        self.unkID = try special(configuration.unkToken)
        self.maskID = firstID[configuration.maskToken]
        self.pieces = vocabulary
        self.initial = VocabularyTable(entries: initialEntries)
        self.continuation = VocabularyTable(entries: continuationEntries)
        self.basic = BasicTokenizer(
            lowercase: configuration.lowercase, stripAccents: configuration.stripAccents,
            tokenizeChineseChars: configuration.tokenizeChineseChars)
    }

    /// Word-piece ids of `text`, without `[CLS]`/`[SEP]` and without truncation.
    public func wordPieceIDs(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        _ = appendWordPieceIDs(text, to: &ids, limit: Int.max)
        return ids
    }

    /// `[CLS] pieces [SEP]`, keeping the first `maxLength - 2` pieces when the text is longer.
    /// - Precondition: `maxLength >= 2`.
    public func encode(_ text: String, maxLength: Int) -> Encoding {
        precondition(maxLength >= 2, "maxLength must leave room for [CLS] and [SEP]")
        var ids: [Int32] = []
        ids.reserveCapacity(min(maxLength, text.utf8.count / 3 + 4))
        ids.append(clsID)
        let truncated = appendWordPieceIDs(text, to: &ids, limit: maxLength - 1)
        ids.append(sepID)
        return Encoding(ids: ids, truncated: truncated)
    }

    /// The vocabulary pieces of `ids` (`[UNK]` for ids outside the vocabulary).
    public func tokens(forIDs ids: [Int32]) -> [String] {
        ids.map { $0 >= 0 && Int($0) < pieces.count ? pieces[Int($0)] : configuration.unkToken }
    }

    /// The words after basic tokenization (cleaning, normalisation, whitespace and punctuation
    /// splitting), before WordPiece. Meant for debugging and parity checks.
    public func basicTokens(_ text: String) -> [String] {
        struct Collect: WordSink {
            var words: [String] = []
            mutating func word(_ bytes: UnsafePointer<UInt8>, count: Int, scalarCount: Int) -> Bool {
                words.append(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
                return true
            }
        }
        var sink = Collect()
        basic.forEachWord(in: text, &sink)
        return sink.words
    }

    /// Appends the piece ids of `text`; stops once `ids.count` would exceed `limit` and then
    /// returns true (the text was truncated), leaving exactly `limit` ids.
    private func appendWordPieceIDs(_ text: String, to ids: inout [Int32], limit: Int) -> Bool {
        initial.withLookup { initial in
            continuation.withLookup { continuation in
                var sink = WordPieceSink(
                    ids: ids, limit: limit, unk: unkID, maxChars: configuration.maxInputCharsPerWord,
                    initial: initial, continuation: continuation)
                ids = []
                basic.forEachWord(in: text, &sink)
                ids = sink.ids
                if ids.count > limit {
                    ids.removeSubrange(limit...)
                    return true
                }
                return false
            }
        }
    }
}

/// Greedy longest-match-first WordPiece over the words of ``BasicTokenizer``.
private struct WordPieceSink: WordSink {
    var ids: [Int32]
    let limit: Int
    let unk: Int32
    let maxChars: Int
    let initial: VocabularyTable.Lookup
    let continuation: VocabularyTable.Lookup
    /// hashes[j] = hash of word[start ... start + j].
    var hashes: [UInt64]

    init(
        ids: [Int32], limit: Int, unk: Int32, maxChars: Int, initial: VocabularyTable.Lookup,
        continuation: VocabularyTable.Lookup
    ) {
        self.ids = ids
        self.limit = limit
        self.unk = unk
        self.maxChars = maxChars
        self.initial = initial
        self.continuation = continuation
        self.hashes = [UInt64](repeating: 0, count: max(initial.maxKeyLength, continuation.maxKeyLength) + 1)
    }

    @inline(__always)
    mutating func word(_ p: UnsafePointer<UInt8>, count len: Int, scalarCount: Int) -> Bool {
        if scalarCount > maxChars {
            ids.append(unk)
            return ids.count <= limit
        }
        let mark = ids.count
        var start = 0
        let ok: Bool = hashes.withUnsafeMutableBufferPointer { hs in
            while start < len {
                let table = start == 0 ? initial : continuation
                let maxEnd = min(len, start + table.maxKeyLength)
                var h = VocabularyTable.seed
                var k = start
                while k < maxEnd {
                    h = VocabularyTable.hashStep(h, p[k])
                    hs[k - start] = h
                    k += 1
                }
                var end = maxEnd
                while end > start && end < len && (p[end] & 0xC0) == 0x80 { end -= 1 }
                var found: Int32 = -1
                while end > start {
                    if let id = table.find(p + start, count: end - start, hash: hs[end - start - 1]) {
                        found = id
                        break
                    }
                    end -= 1
                    while end > start && (p[end] & 0xC0) == 0x80 { end -= 1 }
                }
                if found < 0 { return false }
                ids.append(found)
                start = end
            }
            return true
        }
        if !ok {
            ids.removeSubrange(mark...)
            ids.append(unk)
        }
        return ids.count <= limit
    }
}
