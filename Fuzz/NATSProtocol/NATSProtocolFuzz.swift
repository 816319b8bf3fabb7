// libFuzzer entry point for the NATS protocol parser (Sources/NATSClient/NATSProtocol.swift: NATSDecoder.parse,
// and NATSHeaders.parse under it). Built by SwiftPM as the executable target NATSProtocolFuzz, which exists only
// when WARDEN_FUZZ is set (see scripts/fuzz.sh), from this file and the parser's source files, linked here from
// Sources/NATSClient so that they get libFuzzer's instrumentation. See README.md beside this file.
import Foundation
import NIOCore

/// libFuzzer's driver (it parses the usual libFuzzer flags); SwiftPM gives an executable target its own entry
/// point, so main hands over to the driver instead of using libFuzzer's main.
@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@main
enum NATSProtocolFuzzMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, count in
            var empty: UInt8 = 0
            guard let data else { return fuzz(&empty, 0) }
            return fuzz(UnsafeRawPointer(data), count)
        }
        exit(status)
    }
}

func violation(_ message: String, _ bytes: UnsafeRawBufferPointer) -> Never {
    let shown = String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription
    fatalError("NATS parser property violated: \(message)\ninput (\(bytes.count) bytes): \(shown)")
}

/// What a parse of a stream gave: the operations in order, and whether it ended on a protocol error.
struct Outcome: Equatable {
    var operations: [String] = []
    var failed = false
}

/// Parses every operation available in `buffer`, as the channel's decoder does after each read: each call
/// either returns an operation and consumes bytes, or returns nil and consumes no more than blank lines, or
/// throws.
func drain(_ buffer: inout ByteBuffer, into outcome: inout Outcome, _ input: UnsafeRawBufferPointer) {
    while !outcome.failed {
        let before = buffer.readerIndex
        let readable = buffer.readableBytes
        let unread = buffer  // copy on write: what was readable before the call
        do {
            guard let operation = try NATSDecoder.parse(&buffer) else {
                // Nothing is consumed but the blank lines before the incomplete operation.
                let consumed = buffer.readerIndex - before
                if consumed < 0 || buffer.readableBytes != readable - consumed
                    || unread.getBytes(at: before, length: consumed)?.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x0A }) != true
                {
                    violation("parse returned nil but consumed \(consumed) bytes that are not blank lines", input)
                }
                return
            }
            // An operation that consumed nothing would make the channel's decoder loop for ever.
            if buffer.readerIndex <= before { violation("parse returned \(operation) without consuming a byte", input) }
            outcome.operations.append(String(reflecting: operation))
        } catch is NATSError {
            outcome.failed = true
        } catch {
            violation("parse threw \(type(of: error)), not NATSError", input)
        }
    }
}

/// The stream `bytes` fed in pieces whose lengths come from `seed` (1 to 16 bytes, or the whole rest).
func parse(_ bytes: UnsafeRawBufferPointer, chunkedWith seed: UInt64?, _ input: UnsafeRawBufferPointer) -> Outcome {
    var outcome = Outcome()
    var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
    var state = seed ?? 0
    var offset = 0
    while offset < bytes.count {
        var length = bytes.count - offset
        if seed != nil {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            length = min(length, Int(state >> 60) + 1)
        }
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))
        offset += length
        drain(&buffer, into: &outcome, input)
    }
    return outcome
}

/// A well-formed MSG or HMSG built from the input: the subject, reply and header fields are cut down to what
/// the protocol allows, the payload is any bytes.
func message(from bytes: UnsafeRawBufferPointer) -> (wire: [UInt8], expected: NATSMessage) {
    func token(_ slice: Slice<UnsafeRawBufferPointer>, _ alphabet: [UInt8]) -> String {
        String(decoding: slice.map { alphabet[Int($0) % alphabet.count] }, as: UTF8.self)
    }
    let subjectAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-$>*".utf8)
    let nameAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".utf8)
    let valueAlphabet = Array("abc XYZ 019 :;,./-_=+\"'".utf8)
    var cursor = min(1, bytes.count)
    func take(_ n: Int) -> Slice<UnsafeRawBufferPointer> {
        let end = min(bytes.count, cursor + n)
        defer { cursor = end }
        return bytes[cursor..<end]
    }
    let flags = bytes.first ?? 0
    let subject = "s" + token(take(Int(flags & 7)), subjectAlphabet)
    let reply = flags & 8 != 0 ? "_INBOX." + token(take(6), subjectAlphabet) : nil
    let sid = UInt64(take(2).reduce(0) { $0 << 8 | Int($1) })
    var headers = NATSHeaders()
    let hasHeaders = flags & 16 != 0
    if hasHeaders {
        for _ in 0..<Int(flags >> 5) {
            let name = token(take(3), nameAlphabet)
            let value = token(take(5), valueAlphabet).trimmingWhitespace()
            if !name.isEmpty { headers.append(name, value) }
        }
    }
    let payload = Array(bytes[cursor...])
    let block = hasHeaders ? headers.encoded() : []
    let total = block.count + payload.count
    let line =
        (hasHeaders ? "HMSG" : "MSG") + " \(subject) \(sid)" + (reply.map { " \($0)" } ?? "")
        + (hasHeaders ? " \(block.count)" : "") + " \(total)\r\n"
    let wire = Array(line.utf8) + block + payload + Array("\r\n".utf8)
    return (wire, NATSMessage(subject: subject, replyTo: reply, headers: headers, payload: payload, sid: sid))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)

    // Any bytes: no trap, no operation without progress, and the same operations (and the same protocol
    // error) whether the stream arrives at once or in small pieces.
    let whole = parse(input, chunkedWith: nil, input)
    let seed = input.prefix(8).reduce(UInt64(count)) { $0 << 8 | UInt64($1) }
    let pieces = parse(input, chunkedWith: seed, input)
    if whole != pieces {
        violation("whole: \(whole.operations.count) operations, failed \(whole.failed); in pieces: \(pieces.operations.count), failed \(pieces.failed)", input)
    }

    // A valid MSG/HMSG built from the input, then a PING: exactly that message, whole or in pieces.
    let (wire, expected) = message(from: input)
    let stream = wire + Array("PING\r\n".utf8)
    for chunking in [nil, seed] {
        let outcome = stream.withUnsafeBytes { parse($0, chunkedWith: chunking, input) }
        let want = [String(reflecting: ServerOperation.message(expected)), String(reflecting: ServerOperation.ping)]
        if outcome.failed || outcome.operations != want {
            violation(
                "the message \(String(decoding: wire.prefix(200), as: UTF8.self).debugDescription) parsed as \(outcome) (chunked: \(chunking != nil))", input)
        }
    }
    return 0
}
