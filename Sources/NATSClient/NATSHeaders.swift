import Foundation

/// The headers of a NATS message (`NATS/1.0` block of `HPUB`/`HMSG`): case-preserving names, several values
/// per name, and the optional status line of server-generated messages (`503` no responders, `404`, `408`).
public struct NATSHeaders: Sendable, Equatable, Sequence {
    private var fields: [(name: String, value: String)] = []
    /// Status code of a server-generated message (`NATS/1.0 503`), else nil.
    public var status: Int?
    /// The words after the status code (`No Messages`), if any.
    public var statusDescription: String?

    public init() {}

    public init(_ pairs: [(String, String)]) {
        for (name, value) in pairs { append(name, value) }
    }

    public static func == (lhs: NATSHeaders, rhs: NATSHeaders) -> Bool {
        lhs.status == rhs.status && lhs.statusDescription == rhs.statusDescription
            && lhs.fields.map(\.name) == rhs.fields.map(\.name) && lhs.fields.map(\.value) == rhs.fields.map(\.value)
    }

    public var isEmpty: Bool { fields.isEmpty && status == nil }

    /// The first value of `name` (compared without case), or nil.
    public subscript(name: String) -> String? {
        get { fields.first { $0.name.caseInsensitiveEquals(name) }?.value }
        set {
            fields.removeAll { $0.name.caseInsensitiveEquals(name) }
            if let newValue { append(name, newValue) }
        }
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    /// Adds a value (a name may repeat). Carriage returns and line feeds are replaced by spaces.
    public mutating func append(_ name: String, _ value: String) {
        fields.append((Self.clean(name), Self.clean(value)))
    }

    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> { fields.makeIterator() }

    private static func clean(_ text: String) -> String {
        text.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) ? String(text.map { $0.isNewline ? " " : $0 }) : text
    }

    /// The header block as sent on the wire, from `NATS/1.0` to the blank line.
    func encoded() -> [UInt8] {
        var text = "NATS/1.0"
        if let status { text += " \(status)" + (statusDescription.map { " \($0)" } ?? "") }
        text += "\r\n"
        for field in fields { text += "\(field.name): \(field.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Parses a header block (`NATS/1.0[ status[ description]]\r\n(name: value\r\n)*\r\n`).
    static func parse(_ bytes: some Collection<UInt8>) throws(NATSError) -> NATSHeaders {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .protocolError("headers are not UTF-8") }
        var lines = text.components(separatedBy: "\r\n")[...]
        guard let first = lines.popFirst(), first.hasPrefix("NATS/1.0") else { throw .protocolError("headers without NATS/1.0 line") }
        var headers = NATSHeaders()
        let rest = first.dropFirst("NATS/1.0".count).trimmingWhitespace()
        if !rest.isEmpty {
            let parts = rest.split(separator: " ", maxSplits: 1)
            headers.status = Int(parts[0])
            if parts.count > 1 { headers.statusDescription = String(parts[1]) }
        }
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.fields.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingWhitespace()))
        }
        return headers
    }
}

extension StringProtocol {
    func caseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        self.count == other.count && zip(self.utf8, other.utf8).allSatisfy { Self.lower($0) == Self.lower($1) }
    }

    private static func lower(_ byte: UInt8) -> UInt8 { (65...90).contains(byte) ? byte + 32 : byte }

    func trimmingWhitespace() -> String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
