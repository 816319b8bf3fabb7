import NIOCore
import Testing

@testable import NATSClient

/// The protocol parser and encoder, without a server.
@Suite struct NATSProtocolTests {
    private func parseAll(_ text: String) throws -> [ServerOperation] {
        var buffer = ByteBuffer(string: text)
        var operations: [ServerOperation] = []
        while let operation = try NATSDecoder.parse(&buffer) { operations.append(operation) }
        return operations
    }

    @Test func messagesWithAndWithoutHeadersAndReply() throws {
        let headers = "NATS/1.0\r\nNats-Msg-Id: a-1\r\nX: 1\r\nX: 2\r\n\r\n"
        let text = "MSG a.b 7 5\r\nhello\r\nHMSG c.d 9 _INBOX.x \(headers.utf8.count) \(headers.utf8.count + 2)\r\n\(headers)hi\r\nPING\r\n"
        let operations = try parseAll(text)
        #expect(operations.count == 3)
        guard case .message(let first) = operations[0], case .message(let second) = operations[1], case .ping = operations[2] else {
            Issue.record("unexpected operations \(operations)")
            return
        }
        #expect(first.subject == "a.b" && first.sid == 7 && first.replyTo == nil && first.string == "hello")
        #expect(second.subject == "c.d" && second.replyTo == "_INBOX.x" && second.string == "hi")
        #expect(second.headers["nats-msg-id"] == "a-1")
        #expect(second.headers.values("X") == ["1", "2"])
    }

    @Test func aMessageIsNotConsumedUntilItsPayloadIsComplete() throws {
        var buffer = ByteBuffer(string: "MSG a 1 10\r\nhello")
        #expect(try NATSDecoder.parse(&buffer) == nil)
        #expect(buffer.readableBytes == 17)
        buffer.writeString("world\r\n")
        guard case .message(let message)? = try NATSDecoder.parse(&buffer) else {
            Issue.record("no message")
            return
        }
        #expect(message.string == "helloworld")
        #expect(buffer.readableBytes == 0)
    }

    @Test func statusHeadersErrorsAndInfo() throws {
        let status = "NATS/1.0 503\r\n\r\n"
        let operations = try parseAll(
            "HMSG _INBOX.a.b 2 \(status.utf8.count) \(status.utf8.count)\r\n\(status)\r\n-ERR 'Authorization Violation'\r\n+OK\r\nINFO {\"server_id\":\"x\",\"version\":\"2.9.10\",\"max_payload\":1024,\"headers\":true,\"nonce\":\"abc\"}\r\n"
        )
        guard case .message(let message) = operations[0], case .error(let text) = operations[1], case .ok = operations[2],
            case .info(let info) = operations[3]
        else {
            Issue.record("unexpected \(operations)")
            return
        }
        #expect(message.status == 503 && message.payload.isEmpty)
        #expect(text == "Authorization Violation")
        #expect(info.maxPayload == 1024 && info.headers && info.nonce == "abc")
    }

    @Test func statusWithDescription() throws {
        let headers = try NATSHeaders.parse(Array("NATS/1.0 404 No Messages\r\n\r\n".utf8))
        #expect(headers.status == 404 && headers.statusDescription == "No Messages")
    }

    /// Found with the NATSProtocol fuzz target (Fuzz/NATSProtocol): blank lines were skipped by recursion, one
    /// stack frame each, so a stream of them overflowed the stack.
    @Test func manyBlankLinesAreSkippedWithoutRecursion() throws {
        var buffer = ByteBuffer(string: String(repeating: "\r\n", count: 1_000_000) + "PING\r\n")
        guard case .ping? = try NATSDecoder.parse(&buffer) else {
            Issue.record("no PING")
            return
        }
        #expect(buffer.readableBytes == 0)
        // Before an incomplete operation, only the blank lines are consumed.
        var partial = ByteBuffer(string: String(repeating: "\n", count: 100_000) + "MSG a 1 5\r\nhel")
        #expect(try NATSDecoder.parse(&partial) == nil)
        #expect(partial.readableBytes == 14)
    }

    /// Found with the NATSProtocol fuzz target (Fuzz/NATSProtocol): a size near Int.max overflowed the
    /// completeness check and trapped.
    @Test func aHugeMessageSizeWaitsForMoreBytesInsteadOfTrapping() throws {
        for line in [
            "MSG a 1 9223372036854775807\r\n", "MSG a 1 _INBOX.r 9223372036854775806\r\nxy",
            "HMSG a 1 12 9223372036854775807\r\nNATS/1.0\r\n\r\n",
        ] {
            var buffer = ByteBuffer(string: line)
            #expect(try NATSDecoder.parse(&buffer) == nil, "\(line.debugDescription)")
            #expect(buffer.readableBytes == line.utf8.count)
        }
    }

    @Test func garbageIsAProtocolError() {
        var buffer = ByteBuffer(string: "HELLO there\r\n")
        #expect(throws: NATSError.self) { try NATSDecoder.parse(&buffer) }
    }

    @Test func encodesPublishWithHeaders() {
        var headers = NATSHeaders()
        headers["Nats-Msg-Id"] = "s-1"
        var buffer = ByteBuffer()
        ClientOperation.publish(subject: "a", replyTo: "r", headers: headers, payload: Array("xy".utf8), into: &buffer)
        let block = "NATS/1.0\r\nNats-Msg-Id: s-1\r\n\r\n"
        #expect(String(buffer: buffer) == "HPUB a r \(block.utf8.count) \(block.utf8.count + 2)\r\n\(block)xy\r\n")
        var plain = ByteBuffer()
        ClientOperation.publish(subject: "a", replyTo: nil, headers: nil, payload: [], into: &plain)
        #expect(String(buffer: plain) == "PUB a 0\r\n\r\n")
    }

    @Test func jetStreamMetadataBothForms() throws {
        let short = try #require(JetStreamMetadata(replySubject: "$JS.ACK.ORDERS.workers.3.120.95.1700000000000000000.7"))
        #expect(short.stream == "ORDERS" && short.consumer == "workers" && short.numDelivered == 3)
        #expect(short.streamSequence == 120 && short.consumerSequence == 95 && short.numPending == 7)
        let long = try #require(JetStreamMetadata(replySubject: "$JS.ACK.hub.ACCHASH.ORDERS.workers.1.5.4.1700000000000000000.0.tok"))
        #expect(long.stream == "ORDERS" && long.streamSequence == 5 && long.numDelivered == 1)
        #expect(JetStreamMetadata(replySubject: "_INBOX.abc") == nil)
    }

    @Test func reconnectDelaysGrowAreCappedAndJittered() {
        let policy = ReconnectPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(2), jitter: 0.5)
        #expect(policy.delay(attempt: 0, random: 0) == .milliseconds(100))
        #expect(policy.delay(attempt: 3, random: 0) == .milliseconds(800))
        #expect(policy.delay(attempt: 10, random: 0) == .seconds(2))
        #expect(policy.delay(attempt: 10, random: 1) == .seconds(1))
    }

    @Test func urls() throws {
        let address = try ServerAddress("nats://bob:s%3Acret@example.com:4333")
        #expect(address.host == "example.com" && address.port == 4333 && address.user == "bob" && address.password == "s:cret" && !address.tls)
        #expect(try ServerAddress("tls://h").tls)
        #expect(try ServerAddress("127.0.0.1:5").port == 5)
        #expect(throws: NATSError.self) { try ServerAddress("http://h:1") }
    }

    @Test func nkeySeedsRoundTripAndCredentialsFilesParse() throws {
        let seed = NKeyPair.encodeSeed(publicPrefix: 20 << 3, seed: Array(repeating: 7, count: 32))
        #expect(seed.hasPrefix("SU"))
        let pair = try NKeyPair(seed: seed)
        #expect(pair.publicKey.hasPrefix("U") && pair.publicKey.count == 56)
        #expect(try !pair.sign(nonce: "nonce").contains("="))
        var corrupted = Array(seed)
        corrupted[10] = corrupted[10] == "A" ? "B" : "A"
        #expect(throws: NATSError.self) { try NKeyPair(seed: String(corrupted)) }
        let creds = """
            -----BEGIN NATS USER JWT-----
            eyJhbGciOi.payload.sig
            ------END NATS USER JWT------

            ************************* IMPORTANT *************************

            -----BEGIN USER NKEY SEED-----
            \(seed)
            ------END USER NKEY SEED------
            """
        let file = try CredentialsFile(contents: creds)
        #expect(file.jwt == "eyJhbGciOi.payload.sig" && file.seed == seed)
    }
}
