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
        precondition(
            inputIDs.count == count * length && attentionMask.count == count * length,
            "inputIDs and attentionMask must hold count * length values")
        self.count = count
        self.length = length
        self.inputIDs = inputIDs
        self.attentionMask = attentionMask
    }
}

/// A packed batch: several token sequences share each row, so no compute is spent on padding between them.
///
/// Row-major `[rows, length]` arrays. Segment ids mark which message a position belongs to: 0 is padding
/// (at the end of a row), 1...`segments` number the messages of a row in order. Position ids restart at 0
/// for each message. A packed model attends only within a message and pools each message on its own tokens,
/// returning `[rows, segments, labels]` (slots of rows with fewer messages are ignored).
///
/// - Invariant: the three arrays hold `rows * length` values; `rows >= 1`, `length >= 1`, `segments >= 1`.
public struct PackedTokenBatch: Sendable, Equatable {
    public var rows: Int
    public var length: Int
    /// The most messages in one row.
    public var segments: Int
    public var inputIDs: [Int64]
    public var positionIDs: [Int64]
    public var segmentIDs: [Int64]

    public init(rows: Int, length: Int, segments: Int, inputIDs: [Int64], positionIDs: [Int64], segmentIDs: [Int64]) {
        precondition(rows >= 1 && length >= 1 && segments >= 1, "a packed batch has at least one row, column and segment")
        precondition(
            inputIDs.count == rows * length && positionIDs.count == rows * length && segmentIDs.count == rows * length,
            "inputIDs, positionIDs and segmentIDs must hold rows * length values")
        self.rows = rows
        self.length = length
        self.segments = segments
        self.inputIDs = inputIDs
        self.positionIDs = positionIDs
        self.segmentIDs = segmentIDs
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

    /// Whether ``scorePacked(_:)`` is available (the model declares a packed entry point). Default: false.
    var supportsPacking: Bool { get }

    /// Scores a packed batch and returns row-major probabilities `[rows * segments * labelCount]`.
    /// Called only when ``supportsPacking`` is true; the same threading rule as ``score(_:)`` applies.
    func scorePacked(_ batch: PackedTokenBatch) async throws -> [Float]

    /// How this backend computes, for logs, `/v1/models` and the `warden_runtime_info` metric. Default:
    /// nothing known (the bundle's stated precision is reported).
    var runtimeInfo: RuntimeInfo { get }
}

/// How a backend computes, as reported in logs, `/v1/models` and the `warden_runtime_info` metric.
public struct RuntimeInfo: Sendable, Equatable {
    /// The precision the model computes in ("bf16", "fp32", …); nil: as the bundle states.
    public var precision: String?
    /// The BLAS kernel set in use (OpenBLAS's core name, e.g. "SkylakeX"); nil when there is none or it is
    /// not known.
    public var blasCore: String?

    public init(precision: String? = nil, blasCore: String? = nil) {
        self.precision = precision
        self.blasCore = blasCore
    }
}

/// Thrown by the default ``InferenceBackend/scorePacked(_:)`` of a backend that cannot pack.
public struct PackingUnsupported: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "this backend scores padded batches only" }
}

extension InferenceBackend {
    public var supportsPacking: Bool { false }

    public func scorePacked(_ batch: PackedTokenBatch) async throws -> [Float] { throw PackingUnsupported() }

    public var runtimeInfo: RuntimeInfo { RuntimeInfo() }
}
