extension Duration {
    /// Whole and fractional seconds, for the summary and the progress rate.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
