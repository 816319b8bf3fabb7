/// An error raised while loading or building a ``WordPieceTokenizer``.
///
/// A struct wrapping a private kind, so new failure cases can be added without breaking callers.
/// `description` says what went wrong and what to do about it.
public struct TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        case unreadableFile(path: String, reason: String)
        case invalidConfiguration(path: String, reason: String)
        case emptyVocabulary
        case missingSpecialToken(String)
        case vocabularyTooLarge(Int)
    }

    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .unreadableFile(let path, let reason):
            return
                "cannot read tokenizer file '\(path)': \(reason). Check the tokenizer directory (it must hold vocab.txt and tokenizer_config.json; run scripts/export_tokenizer.py to create them)."
        case .invalidConfiguration(let path, let reason):
            return "invalid tokenizer configuration '\(path)': \(reason). Regenerate it with scripts/export_tokenizer.py."
        case .emptyVocabulary:
            return "the vocabulary is empty; vocab.txt must list one word piece per line."
        case .missingSpecialToken(let token):
            return "the special token '\(token)' named in the configuration is not in the vocabulary; use a vocab.txt that matches tokenizer_config.json."
        case .vocabularyTooLarge(let count):
            return "the vocabulary has \(count) entries, more than the supported \(Int32.max)."
        }
    }
}

/// Bytes that are not well-formed UTF-8 (see ``WordPieceTokenizer/decodeUTF8(_:)``).
///
/// Warden rejects such input instead of repairing it: `byteOffset` is the offset of the first byte
/// of the first ill-formed sequence (overlong forms, surrogates, scalars above U+10FFFF, truncated
/// or stray continuation bytes are all ill-formed).
public struct InvalidUTF8Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// Offset, from the start of the input, of the first byte of the first ill-formed sequence.
    public let byteOffset: Int

    public init(byteOffset: Int) { self.byteOffset = byteOffset }

    public var description: String {
        "the text is not valid UTF-8 (first invalid byte sequence at byte offset \(byteOffset)); send UTF-8 encoded text"
    }
}
