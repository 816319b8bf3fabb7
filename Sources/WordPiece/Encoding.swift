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
