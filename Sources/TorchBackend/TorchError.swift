import CTorchShim

/// A failure reported by libtorch through the C shim, with libtorch's own message.
public struct TorchError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure it was; cases may be added, so switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: Hashable, Sendable {
            case invalidArgument, load, signature, forward, output, unsupported, unknown
        }
        fileprivate let base: Base

        /// A bad argument (NULL, non-positive shape, small buffer).
        public static let invalidArgument = Code(base: .invalidArgument)
        /// The file is missing, unreadable or not a TorchScript archive.
        public static let load = Code(base: .load)
        /// The module's forward does not take `(input_ids, attention_mask)`.
        public static let signature = Code(base: .signature)
        /// libtorch raised during forward.
        public static let forward = Code(base: .forward)
        /// forward returned something other than a float `[B, labels]` tensor.
        public static let output = Code(base: .output)
        /// A setting this libtorch/BLAS build cannot apply.
        public static let unsupported = Code(base: .unsupported)

        public var description: String {
            switch base {
            case .invalidArgument: "invalid argument"
            case .load: "cannot load model"
            case .signature: "wrong forward signature"
            case .forward: "forward failed"
            case .output: "wrong model output"
            case .unsupported: "unsupported setting"
            case .unknown: "unknown error"
            }
        }
    }

    public let code: Code
    /// libtorch's message (its C++ backtrace removed).
    public let message: String
    /// The model file involved, when there is one.
    public let path: String?

    public var description: String {
        if let path { return "\(code): \(path): \(message)" }
        return "\(code): \(message)"
    }

    init(status: wt_status, message: String, path: String?) {
        switch status {
        case WT_ERR_INVALID_ARGUMENT: code = .invalidArgument
        case WT_ERR_LOAD: code = .load
        case WT_ERR_SIGNATURE: code = .signature
        case WT_ERR_FORWARD: code = .forward
        case WT_ERR_OUTPUT: code = .output
        case WT_ERR_UNSUPPORTED: code = .unsupported
        default: code = Code(base: .unknown)
        }
        self.message = message.isEmpty ? "no message" : message
        self.path = path
    }
}

/// Calls a shim function with a message buffer and turns a failure into a `TorchError`.
func checked(path: String? = nil, _ call: (UnsafeMutablePointer<CChar>, Int) -> wt_status) throws(TorchError) {
    var buffer = [CChar](repeating: 0, count: 1024)
    let status = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress!, $0.count) }
    guard status == WT_OK else {
        let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        throw TorchError(status: status, message: message, path: path)
    }
}
