import CTorchShim
import NIOPosix
import WardenCore

/// Runs a TorchScript model for the batching engine, on a thread Warden owns.
///
/// Each backend owns one model handle and one dedicated thread (an `NIOThreadPool` of size 1), so a
/// forward never blocks the Swift cooperative pool or a NIO event loop. Several backends over the same
/// file make several workers.
public final class TorchBackend: InferenceBackend {
    public let model: TorchModel
    private let thread: NIOThreadPool
    /// The precision it computes in and the process's OpenBLAS core.
    public let runtimeInfo: RuntimeInfo

    public var labelCount: Int { model.outputWidth }

    /// Loads `path` on the backend's own thread.
    ///
    /// - Parameters:
    ///   - expectedLabels: when given, a model with another output width is refused.
    ///   - precision: the precision to compute in (``TorchPrecision/asStored`` unless comparing).
    ///   - packedEntryPoint: the model's packed method (the bundle's `packed_entry_point`), bound and probed
    ///     at load; nil scores padded batches only.
    ///   - precisionName: the name of the precision it computes in, for ``runtimeInfo`` (nil: "fp32" when
    ///     converted, else the bundle's stated precision).
    ///   - threadNice: the nice value of the backend's thread (0: as the process; 19: only CPU time others
    ///     leave idle). Linux sets it per thread.
    public static func load(
        path: String, expectedLabels: Int? = nil, precision: TorchPrecision = .asStored,
        packedEntryPoint: String? = nil, precisionName: String? = nil, threadNice: Int32 = 0
    ) async throws -> TorchBackend {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        do {
            if threadNice != 0 {
                try await thread.runIfActive { try setNice(threadNice) }
            }
            let model = try await thread.runIfActive { () throws(TorchError) -> TorchModel in
                try TorchModel(path: path, precision: precision, packedEntryPoint: packedEntryPoint)
            }
            if let expectedLabels, model.outputWidth != expectedLabels {
                throw TorchError(
                    status: WT_ERR_OUTPUT,
                    message: "the model has \(model.outputWidth) outputs but its manifest names \(expectedLabels) labels",
                    path: path)
            }
            let info = RuntimeInfo(
                precision: precisionName ?? (precision == .float32 ? "fp32" : nil),
                blasCore: BLASStartup.current.core)
            return TorchBackend(model: model, thread: thread, runtimeInfo: info)
        } catch {
            try? await thread.shutdownGracefully()
            throw error
        }
    }

    /// Sets the calling thread's nice value.
    private static func setNice(_ nice: Int32) throws(TorchError) {
        try checked { wt_set_thread_nice(nice, $0, $1) }
    }

    private init(model: TorchModel, thread: NIOThreadPool, runtimeInfo: RuntimeInfo) {
        self.model = model
        self.thread = thread
        self.runtimeInfo = runtimeInfo
    }

    deinit {
        // Queued work keeps the model alive; the thread exits once that work is done.
        thread.shutdownGracefully { _ in }
    }

    public func score(_ batch: TokenBatch) async throws -> [Float] {
        let model = self.model
        return try await thread.runIfActive {
            try model.forward(inputIDs: batch.inputIDs, attentionMask: batch.attentionMask, batch: batch.count, length: batch.length)
        }
    }

    public var supportsPacking: Bool { model.packedEntryPoint != nil }

    public func scorePacked(_ batch: PackedTokenBatch) async throws -> [Float] {
        let model = self.model
        return try await thread.runIfActive {
            try model.forwardPacked(
                inputIDs: batch.inputIDs, positionIDs: batch.positionIDs, segmentIDs: batch.segmentIDs,
                rows: batch.rows, length: batch.length, segments: batch.segments)
        }
    }
}
