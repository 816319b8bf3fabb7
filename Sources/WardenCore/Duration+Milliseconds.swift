extension Duration {
    /// Whole and fractional milliseconds, for logs, headers and reports.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    /// The milliseconds as a help text or a report shows them: `2`, or `2.5` when not whole.
    public var millisecondsText: String {
        let value = milliseconds
        return value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// Whole nanoseconds (saturating), for APIs that count in them.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (seconds < 0 ? .min : .max) : whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }

    /// Whole and fractional seconds.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// A duration of `milliseconds` (fractions kept to the microsecond), or nil when it is not a finite,
    /// non-negative number that fits (what a flag or an environment variable may hold).
    public static func milliseconds(exactly milliseconds: Double) -> Duration? {
        guard milliseconds.isFinite, milliseconds >= 0, milliseconds < 1e12 else { return nil }
        return .microseconds(Int64((milliseconds * 1000).rounded()))
    }
}
