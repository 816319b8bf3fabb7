import CTorchShim

/// The precision a TorchScript model computes in once loaded.
public enum TorchPrecision: String, Sendable, CaseIterable {
    /// As the file stores it (the default model: a bf16 encoder with an fp32 head).
    case asStored = "as-stored"
    /// Every floating-point parameter and buffer converted to fp32 at load: the fp32 computation of the
    /// stored weights. Its results agree on every x86-64 CPU to float rounding (about 1e-6), whereas bf16
    /// results move in the last digits between CPUs whose bf16 kernels accumulate in different orders.
    case float32 = "fp32"

    var shimValue: wt_precision {
        switch self {
        case .asStored: WT_PRECISION_AS_STORED
        case .float32: WT_PRECISION_FLOAT32
        }
    }
}

/// The one Swift owner of a loaded TorchScript model handle (freed in `deinit`).
///
/// `forward` blocks the calling thread for the whole model run: call it only from threads Warden owns
/// (see `TorchBackend`), never from the cooperative pool or an event loop.
///
/// - Important: Sendable because the handle is immutable after loading and the shim documents
///   `wt_model_forward` as thread-safe on one handle; `wt_model_free` runs only in `deinit`, when no
///   forward can be in flight (callers hold a strong reference while they run).
public final class TorchModel: @unchecked Sendable {
    private let handle: OpaquePointer
    /// The model file this was loaded from.
    public let path: String
    /// Width of the model's output rows (number of labels).
    public let outputWidth: Int
    /// The precision the model computes in.
    public let precision: TorchPrecision
    /// The bound packed entry point (see ``forwardPacked(inputIDs:positionIDs:segmentIDs:rows:length:segments:)``),
    /// or nil when the model is used padded only.
    public let packedEntryPoint: String?

    /// Loads a TorchScript file, converts it to `precision`, and checks its forward signature and output
    /// shape with a probe input; when `packedEntryPoint` is given, also checks and probes that method.
    public init(path: String, precision: TorchPrecision = .asStored, packedEntryPoint: String? = nil) throws(TorchError) {
        var model: OpaquePointer?
        try checked(path: path) { wt_model_load(path, precision.shimValue, &model, $0, $1) }
        guard let model else { throw TorchError(status: WT_ERR_LOAD, message: "no handle returned", path: path) }
        if let packedEntryPoint {
            do {
                try checked(path: path) { wt_model_bind_packed(model, packedEntryPoint, $0, $1) }
            } catch {
                wt_model_free(model)
                throw error
            }
        }
        self.handle = model
        self.path = path
        self.precision = precision
        self.packedEntryPoint = packedEntryPoint
        self.outputWidth = Int(wt_model_output_width(model))
    }

    deinit { wt_model_free(handle) }

    /// Runs forward over row-major `[batch, length]` ids and mask; returns row-major `[batch, outputWidth]`.
    public func forward(inputIDs: [Int64], attentionMask: [Int64], batch: Int, length: Int) throws(TorchError) -> [Float] {
        guard batch > 0, length > 0, inputIDs.count == batch * length, attentionMask.count == batch * length else {
            throw TorchError(
                status: WT_ERR_INVALID_ARGUMENT,
                message: "inputs hold \(inputIDs.count)/\(attentionMask.count) values for a [\(batch), \(length)] batch",
                path: path)
        }
        return try filled(count: batch * outputWidth) { out, capacity, err, errCapacity in
            inputIDs.withUnsafeBufferPointer { ids in
                attentionMask.withUnsafeBufferPointer { mask in
                    wt_model_forward(
                        handle, ids.baseAddress, mask.baseAddress, Int64(batch), Int64(length),
                        out, capacity, err, errCapacity)
                }
            }
        }
    }

    /// Runs the packed entry point over row-major `[rows, length]` ids, position ids and segment ids
    /// (0 = padding, 1...`segments` = message within its row); returns row-major `[rows, segments, outputWidth]`.
    public func forwardPacked(
        inputIDs: [Int64], positionIDs: [Int64], segmentIDs: [Int64], rows: Int, length: Int,
        segments: Int
    ) throws(TorchError) -> [Float] {
        guard packedEntryPoint != nil else {
            throw TorchError(status: WT_ERR_SIGNATURE, message: "no packed entry point is bound", path: path)
        }
        let cells = rows * length
        guard rows > 0, length > 0, segments > 0, inputIDs.count == cells, positionIDs.count == cells, segmentIDs.count == cells else {
            throw TorchError(
                status: WT_ERR_INVALID_ARGUMENT,
                message: "inputs hold \(inputIDs.count)/\(positionIDs.count)/\(segmentIDs.count) values for [\(rows), \(length)] with \(segments) segments",
                path: path)
        }
        return try filled(count: rows * segments * outputWidth) { out, capacity, err, errCapacity in
            inputIDs.withUnsafeBufferPointer { ids in
                positionIDs.withUnsafeBufferPointer { positions in
                    segmentIDs.withUnsafeBufferPointer { segmentBuffer in
                        wt_model_forward_packed(
                            handle, ids.baseAddress, positions.baseAddress, segmentBuffer.baseAddress,
                            Int64(rows), Int64(length), Int64(segments), out, capacity, err, errCapacity)
                    }
                }
            }
        }
    }

    /// Runs one shim call that writes `count` floats into the buffer it is given; a failing status becomes a
    /// ``TorchError`` carrying the shim's message.
    private func filled(count: Int, _ call: (UnsafeMutablePointer<Float>?, Int, UnsafeMutablePointer<CChar>, Int) -> wt_status) throws(TorchError) -> [Float] {
        var output = [Float](repeating: 0, count: count)
        try output.withUnsafeMutableBufferPointer { buffer throws(TorchError) in
            try checked(path: path) { call(buffer.baseAddress, buffer.count, $0, $1) }
        }
        return output
    }
}
