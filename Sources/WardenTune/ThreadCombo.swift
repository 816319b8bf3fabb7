/// Workers × torch intra-op threads × OpenBLAS threads.
public struct ThreadCombo: Sendable, Hashable, CustomStringConvertible {
    public var workers: Int
    public var torch: Int
    public var blas: Int

    public init(workers: Int, torch: Int, blas: Int) {
        self.workers = workers
        self.torch = torch
        self.blas = blas
    }

    public var description: String { "\(workers)x\(torch)x\(blas)" }
}
