/// A padded batch of token ids, row-major `[count, length]`, ready for a model.
///
/// - Invariant: `inputIDs.count == attentionMask.count == count * length`, `count >= 1`, `length >= 1`.
public struct TokenBatch: Sendable, Equatable {
    /// Number of rows (items).
    public var count: Int
    /// Padded sequence length shared by every row.
    public var length: Int
    /// Token ids, row-major; padding positions hold the tokenizer's `[PAD]` id.
    public var inputIDs: [Int64]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int64]

    public init(count: Int, length: Int, inputIDs: [Int64], attentionMask: [Int64]) {
        precondition(count >= 1 && length >= 1, "a batch has at least one row and one column")
        precondition(inputIDs.count == count * length && attentionMask.count == count * length,
                     "inputIDs and attentionMask must hold count * length values")
        self.count = count
        self.length = length
        self.inputIDs = inputIDs
        self.attentionMask = attentionMask
    }
}

/// What the batching engine needs from a model runtime. `WardenCore` never sees libtorch: the Torch
/// backend plugs in through this protocol, and tests plug in small deterministic backends.
public protocol InferenceBackend: Sendable {
    /// Number of output labels per item (the width of each result row).
    var labelCount: Int { get }

    /// Scores a padded batch and returns row-major probabilities `[batch.count * labelCount]`.
    ///
    /// - Important: Implementations run blocking work on threads they own, never on the Swift
    ///   cooperative pool or a NIO event loop.
    func score(_ batch: TokenBatch) async throws -> [Float]
}
