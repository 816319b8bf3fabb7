import Crypto
import Foundation

/// An NKey seed (`S` + type + base32 of the ed25519 seed and a CRC-16), used to sign the server's nonce.
struct NKeyPair: Sendable {
    private static let seedPrefix: UInt8 = 18 << 3
    private let key: Curve25519.Signing.PrivateKey
    /// The type byte of the public key (`U` user: 20 << 3).
    let publicPrefix: UInt8

    init(seed text: String) throws(NATSError) {
        let raw = Base32.decode(text.trimmingCharacters(in: .whitespacesAndNewlines))
        guard let raw, raw.count >= 4 else { throw .invalidCredentials("the NKey seed is not base32") }
        let body = raw.dropLast(2)
        let checksum = UInt16(raw[raw.count - 2]) | UInt16(raw[raw.count - 1]) << 8
        guard CRC16.checksum(body) == checksum else { throw .invalidCredentials("the NKey seed's checksum does not match") }
        let bytes = Array(body)
        guard bytes.count == 34, bytes[0] & 0xF8 == Self.seedPrefix else { throw .invalidCredentials("not an NKey seed (it must start with S)") }
        publicPrefix = ((bytes[0] & 0x07) << 5) | ((bytes[1] & 0xF8) >> 3)
        do {
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: bytes[2...])
        } catch {
            throw .invalidCredentials("the NKey seed does not hold an ed25519 key")
        }
    }

    /// The public key (`U…`) the server knows the user by.
    var publicKey: String {
        let body = [publicPrefix] + Array(key.publicKey.rawRepresentation)
        let checksum = CRC16.checksum(body[...])
        return Base32.encode(body + [UInt8(checksum & 0xFF), UInt8(checksum >> 8)])
    }

    /// The server's nonce signed, as base64url without padding (the `sig` of `CONNECT`).
    func sign(nonce: String) throws -> String {
        let signature = try key.signature(for: Data(nonce.utf8))
        return Data(signature).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// A seed string for a type byte and 32 random-or-given bytes (tests make users this way).
    static func encodeSeed(publicPrefix: UInt8, seed: [UInt8]) -> String {
        let body = [seedPrefix | (publicPrefix >> 5), (publicPrefix & 0x1F) << 3] + seed
        let checksum = CRC16.checksum(body[...])
        return Base32.encode(body + [UInt8(checksum & 0xFF), UInt8(checksum >> 8)])
    }
}

/// The user JWT and seed of a `.creds` file.
struct CredentialsFile: Sendable {
    var jwt: String
    var seed: String

    init(contents: String) throws(NATSError) {
        func block(after marker: String) -> String? {
            let lines = contents.components(separatedBy: .newlines).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let start = lines.firstIndex(where: { $0.contains(marker) }) else { return nil }
            return lines[(start + 1)...].first { !$0.isEmpty && !$0.hasPrefix("---") }
        }
        guard let jwt = block(after: "BEGIN NATS USER JWT") else { throw .invalidCredentials("no user JWT in the credentials file") }
        guard let seed = block(after: "NKEY SEED") else { throw .invalidCredentials("no NKey seed in the credentials file") }
        self.jwt = jwt
        self.seed = seed
    }
}

enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: output, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.utf8 where character != UInt8(ascii: "=") {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> UInt32(bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return output
    }
}

/// CRC-16/XMODEM, the checksum of NKey strings.
enum CRC16 {
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }
}
