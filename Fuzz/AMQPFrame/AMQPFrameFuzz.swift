// libFuzzer entry point for the AMQP 0-9-1 frame decoder and the method, content-header and field-table codecs
// under it (Sources/AMQPClient: AMQPFrameDecoder.decodeFrame, AMQPMethod.decode, AMQPContentHeader.decode,
// the field tables). Built by SwiftPM as the executable target AMQPFrameFuzz, which exists only when WARDEN_FUZZ
// is set (see scripts/fuzz.sh), from this file and the codec's source files, linked here from Sources/AMQPClient
// so that they get libFuzzer's instrumentation. See README.md beside this file.
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
enum AMQPFrameFuzzMain {
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
    let shown = bytes.prefix(200).map { String($0, radix: 16) }.joined(separator: " ")
    fatalError("AMQP codec property violated: \(message)\ninput (\(bytes.count) bytes): \(shown)")
}

/// A small limit, so that the size check is reached often.
let decoder = AMQPFrameDecoder(maxFrameSize: 4096)

/// What decoding a stream gave: the frames in order, and the error it ended on.
struct Outcome: Equatable {
    var frames: [AMQPFrame] = []
    var error: AMQPError?
}

/// Decodes every frame available in `buffer`, as the channel's decoder does after each read: each call returns a
/// frame having consumed its bytes exactly, or returns nil having consumed nothing, or throws.
func drain(_ buffer: inout ByteBuffer, into outcome: inout Outcome, _ input: UnsafeRawBufferPointer) {
    while outcome.error == nil {
        let before = buffer.readerIndex
        do throws(AMQPError) {
            guard let frame = try decoder.decodeFrame(&buffer) else {
                if buffer.readerIndex != before { violation("decodeFrame returned nil but consumed bytes", input) }
                return
            }
            if buffer.readerIndex - before != frame.payload.readableBytes + AMQPFrame.overhead {
                violation("a frame of \(frame.payload.readableBytes) bytes consumed \(buffer.readerIndex - before)", input)
            }
            if frame.payload.readableBytes + AMQPFrame.overhead > decoder.maxFrameSize { violation("a frame over the limit was accepted", input) }
            outcome.frames.append(frame)
        } catch {
            outcome.error = error
        }
    }
}

/// The stream `bytes` fed in pieces whose lengths come from `seed` (1 to 16 bytes, or the whole rest).
func decode(_ bytes: UnsafeRawBufferPointer, chunkedWith seed: UInt64?, _ input: UnsafeRawBufferPointer) -> Outcome {
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

/// What decoded once encodes to bytes that decode to the same thing and encode the same again.
func checkStable(_ payload: ByteBuffer, kind: AMQPFrame.Kind, _ input: UnsafeRawBufferPointer) {
    switch kind {
    case .method:
        guard let method = try? AMQPMethod.decode(payload) else { return }
        var once = ByteBuffer()
        do { try method.encode(into: &once) } catch {
            // Decoded short strings are at most 255 bytes, so they always encode.
            violation("a decoded method does not encode: \(error)", input)
        }
        guard let again = try? AMQPMethod.decode(once) else { violation("an encoded method does not decode: \(method)", input) }
        var twice = ByteBuffer()
        try? again.encode(into: &twice)
        if once != twice { violation("method \(method.id) is not stable through encode and decode", input) }
    case .header:
        guard let header = try? AMQPContentHeader.decode(payload) else { return }
        var once = ByteBuffer()
        do { try header.encode(into: &once) } catch { violation("a decoded header does not encode: \(error)", input) }
        guard let again = try? AMQPContentHeader.decode(once) else { violation("an encoded header does not decode", input) }
        var twice = ByteBuffer()
        try? again.encode(into: &twice)
        if once != twice { violation("a content header is not stable through encode and decode", input) }
    case .body, .heartbeat:
        return
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)

    // Any bytes as a stream from the broker: no trap, exact progress, and the same frames (and the same error)
    // whether the stream arrives at once or in small pieces.
    let whole = decode(input, chunkedWith: nil, input)
    let seed = input.prefix(8).reduce(UInt64(count)) { $0 << 8 | UInt64($1) }
    let pieces = decode(input, chunkedWith: seed, input)
    if whole != pieces {
        violation(
            "whole: \(whole.frames.count) frames, error \(String(describing: whole.error)); in pieces: \(pieces.frames.count), error \(String(describing: pieces.error))",
            input)
    }
    for frame in whole.frames { checkStable(frame.payload, kind: frame.kind, input) }

    // The input as a method payload, a content header payload and a field table, directly.
    var raw = ByteBufferAllocator().buffer(capacity: count)
    raw.writeBytes(input)
    checkStable(raw, kind: .method, input)
    checkStable(raw, kind: .header, input)
    var tableBytes = raw
    if let table = try? tableBytes.amqpReadTable() {
        var once = ByteBuffer()
        do { try once.amqpWriteTable(table) } catch { violation("a decoded table does not encode: \(error)", input) }
        var copy = once
        guard let again = try? copy.amqpReadTable() else { violation("an encoded table does not decode", input) }
        var twice = ByteBuffer()
        try? twice.amqpWriteTable(again)
        if once != twice { violation("a field table is not stable through encode and decode", input) }
    }

    // A valid frame built from the input (type, channel, any payload that fits): exactly that frame, whole or
    // in pieces, followed by a heartbeat.
    let kinds: [AMQPFrame.Kind] = [.method, .header, .body, .heartbeat]
    let kind = kinds[Int(input.first ?? 0) % 3]
    let channel = UInt16(input.dropFirst().prefix(2).reduce(0) { $0 << 8 | Int($1) })
    let payload = Array(input.dropFirst(3).prefix(decoder.maxFrameSize - AMQPFrame.overhead))
    let frame = AMQPFrame(kind: kind, channel: channel, payload: ByteBuffer(bytes: payload))
    var wire = ByteBuffer()
    frame.encode(into: &wire)
    AMQPFrame.heartbeat().encode(into: &wire)
    let bytes = Array(wire.readableBytesView)
    for chunking in [nil, seed] {
        let outcome = bytes.withUnsafeBytes { decode($0, chunkedWith: chunking, input) }
        if outcome.error != nil || outcome.frames != [frame, AMQPFrame.heartbeat()] {
            violation(
                "a valid frame decoded as \(outcome.frames.count) frames, error \(String(describing: outcome.error)) (chunked: \(chunking != nil))", input)
        }
    }
    return 0
}
