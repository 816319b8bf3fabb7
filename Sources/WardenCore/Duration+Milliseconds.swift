extension Duration {
    /// Whole and fractional milliseconds, for logs, headers and reports.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
