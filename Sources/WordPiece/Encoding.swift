/// The encoding of one text: `[CLS] pieces [SEP]`.
public struct Encoding: Sendable, Equatable {
    /// Token ids, `[CLS]` first and `[SEP]` last.
    public var ids: [Int32]
    /// True when pieces were dropped to respect the maximum length.
    public var truncated: Bool

    public init(ids: [Int32], truncated: Bool) {
        self.ids = ids
        self.truncated = truncated
    }

    /// 1 for every id (an unpadded encoding attends to all its tokens).
    public var attentionMask: [Int32] { [Int32](repeating: 1, count: ids.count) }
}

/// Several encodings padded with `[PAD]` to the longest one, stored row-major.
public struct BatchEncoding: Sendable, Equatable {
    /// Number of rows (texts).
    public var count: Int
    /// Length of every row (the longest encoding of the batch).
    public var length: Int
    /// `count × length` ids, row-major, padded with `[PAD]`.
    public var ids: [Int32]
    /// `count × length` mask: 1 for real tokens, 0 for padding.
    public var attentionMask: [Int32]
    /// Unpadded length of each row.
    public var lengths: [Int]
    /// Whether each row was truncated.
    public var truncated: [Bool]

    public init(_ encodings: [Encoding], padID: Int32) {
        let length = encodings.map(\.ids.count).max() ?? 0
        var ids = [Int32](repeating: padID, count: encodings.count * length)
        var mask = [Int32](repeating: 0, count: encodings.count * length)
        for (row, e) in encodings.enumerated() {
            for (j, id) in e.ids.enumerated() {
                ids[row * length + j] = id
                mask[row * length + j] = 1
            }
        }
        self.count = encodings.count
        self.length = length
        self.ids = ids
        self.attentionMask = mask
        self.lengths = encodings.map(\.ids.count)
        self.truncated = encodings.map(\.truncated)
    }

    /// The ids of row `index` (padding included).
    public func row(_ index: Int) -> ArraySlice<Int32> { ids[index * length ..< (index + 1) * length] }
}
