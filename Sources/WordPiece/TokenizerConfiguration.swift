/// Settings of a BERT WordPiece tokenizer, stored as `tokenizer_config.json` next to `vocab.txt`.
///
/// The JSON keys are snake_case (`lowercase`, `strip_accents`, `tokenize_chinese_chars`,
/// `max_input_chars_per_word`, `model_max_length`, `continuing_subword_prefix`, `unk_token`,
/// `cls_token`, `sep_token`, `pad_token`, `mask_token`); missing keys take the defaults of
/// `init()` (the uncased BERT settings).
public struct TokenizerConfiguration: Sendable, Equatable, Codable {
    /// Lower-case the text (Unicode simple + special casing per scalar, no context).
    public var lowercase: Bool
    /// Decompose (NFD) and drop non-spacing marks (category Mn).
    public var stripAccents: Bool
    /// Put spaces around CJK ideographs so each becomes its own word.
    public var tokenizeChineseChars: Bool
    /// Words longer than this many Unicode scalars (after normalisation) become `[UNK]`.
    public var maxInputCharsPerWord: Int
    /// The longest sequence the model accepts (informational; callers pass `maxLength`).
    public var modelMaxLength: Int
    /// Prefix marking pieces that continue a word.
    public var continuingSubwordPrefix: String
    public var unkToken: String
    public var clsToken: String
    public var sepToken: String
    public var padToken: String
    public var maskToken: String

    /// Uncased BERT defaults.
    public init(
        lowercase: Bool = true, stripAccents: Bool = true, tokenizeChineseChars: Bool = true,
        maxInputCharsPerWord: Int = 100, modelMaxLength: Int = 512, continuingSubwordPrefix: String = "##",
        unkToken: String = "[UNK]", clsToken: String = "[CLS]", sepToken: String = "[SEP]",
        padToken: String = "[PAD]", maskToken: String = "[MASK]"
    ) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.tokenizeChineseChars = tokenizeChineseChars
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.modelMaxLength = modelMaxLength
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.unkToken = unkToken
        self.clsToken = clsToken
        self.sepToken = sepToken
        self.padToken = padToken
        self.maskToken = maskToken
    }

    enum CodingKeys: String, CodingKey {
        case lowercase
        case stripAccents = "strip_accents"
        case tokenizeChineseChars = "tokenize_chinese_chars"
        case maxInputCharsPerWord = "max_input_chars_per_word"
        case modelMaxLength = "model_max_length"
        case continuingSubwordPrefix = "continuing_subword_prefix"
        case unkToken = "unk_token"
        case clsToken = "cls_token"
        case sepToken = "sep_token"
        case padToken = "pad_token"
        case maskToken = "mask_token"
    }

    public init(from decoder: any Decoder) throws {
        let d = TokenizerConfiguration()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lowercase = try c.decodeIfPresent(Bool.self, forKey: .lowercase) ?? d.lowercase
        stripAccents = try c.decodeIfPresent(Bool.self, forKey: .stripAccents) ?? lowercase
        tokenizeChineseChars = try c.decodeIfPresent(Bool.self, forKey: .tokenizeChineseChars) ?? d.tokenizeChineseChars
        maxInputCharsPerWord = try c.decodeIfPresent(Int.self, forKey: .maxInputCharsPerWord) ?? d.maxInputCharsPerWord
        modelMaxLength = try c.decodeIfPresent(Int.self, forKey: .modelMaxLength) ?? d.modelMaxLength
        continuingSubwordPrefix = try c.decodeIfPresent(String.self, forKey: .continuingSubwordPrefix) ?? d.continuingSubwordPrefix
        unkToken = try c.decodeIfPresent(String.self, forKey: .unkToken) ?? d.unkToken
        clsToken = try c.decodeIfPresent(String.self, forKey: .clsToken) ?? d.clsToken
        sepToken = try c.decodeIfPresent(String.self, forKey: .sepToken) ?? d.sepToken
        padToken = try c.decodeIfPresent(String.self, forKey: .padToken) ?? d.padToken
        maskToken = try c.decodeIfPresent(String.self, forKey: .maskToken) ?? d.maskToken
    }
}
