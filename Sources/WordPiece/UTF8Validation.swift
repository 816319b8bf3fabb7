extension WordPieceTokenizer {
    /// Decodes bytes that must be well-formed UTF-8 (as defined by Unicode, table 3-7).
    ///
    /// Warden **rejects** ill-formed input rather than repairing it: a U+FFFD would silently change
    /// what the model sees (and the tokenizer would then drop it), so callers (HTTP handlers, file
    /// readers) get an ``InvalidUTF8Error`` with the byte offset of the first ill-formed sequence and
    /// can answer with a clear error.
    public static func decodeUTF8<Bytes: Collection>(_ bytes: Bytes) throws(InvalidUTF8Error) -> String
    where Bytes.Element == UInt8 {
        let result: Result<String, InvalidUTF8Error>? = bytes.withContiguousStorageIfAvailable { buffer in
            if let offset = scanForInvalidUTF8(buffer) { return .failure(InvalidUTF8Error(byteOffset: offset)) }
            return .success(String(decoding: buffer, as: UTF8.self))
        }
        if let result { return try result.get() }
        let array = Array(bytes)
        return try decodeUTF8(array)
    }

    /// The offset of the first byte of the first ill-formed UTF-8 sequence in `bytes`, or nil when they are
    /// well-formed: the one rule the HTTP server and the file readers report invalid input with.
    public static func firstInvalidUTF8Offset<Bytes: Collection>(in bytes: Bytes) -> Int? where Bytes.Element == UInt8 {
        if let offset = bytes.withContiguousStorageIfAvailable({ scanForInvalidUTF8($0) }) { return offset }
        return Array(bytes).withUnsafeBufferPointer { scanForInvalidUTF8($0) }
    }
}

/// Offset of the first byte of the first ill-formed UTF-8 sequence, or nil when all is well-formed.
func scanForInvalidUTF8(_ p: UnsafeBufferPointer<UInt8>) -> Int? {
    let n = p.count
    var i = 0
    while i < n {
        let b = p[i]
        if b < 0x80 {
            i += 1
            continue
        }
        @inline(__always) func cont(_ j: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            j < n && p[j] >= lo && p[j] <= hi
        }
        switch b {
        case 0xC2...0xDF:
            guard cont(i + 1) else { return i }
            i += 2
        case 0xE0:
            guard cont(i + 1, 0xA0, 0xBF), cont(i + 2) else { return i }
            i += 3
        case 0xE1...0xEC, 0xEE...0xEF:
            guard cont(i + 1), cont(i + 2) else { return i }
            i += 3
        case 0xED:
            guard cont(i + 1, 0x80, 0x9F), cont(i + 2) else { return i }
            i += 3
        case 0xF0:
            guard cont(i + 1, 0x90, 0xBF), cont(i + 2), cont(i + 3) else { return i }
            i += 4
        case 0xF1...0xF3:
            guard cont(i + 1), cont(i + 2), cont(i + 3) else { return i }
            i += 4
        case 0xF4:
            guard cont(i + 1, 0x80, 0x8F), cont(i + 2), cont(i + 3) else { return i }
            i += 4
        default:
            return i
        }
    }
    return nil
}
