import Foundation
import NIOSSL
import Testing
import WardenTestSupport

@testable import NATSClient

/// Core NATS against a real `nats-server`.
@Suite(.serialized, .timeLimit(.minutes(10))) struct NATSConnectionTests {
    static func connect(_ server: NATSServerProcess, auth: NATSAuth = .none, reconnect: ReconnectPolicy = ReconnectPolicy()) async throws -> NATSConnection {
        try await NATSConnection.connect(NATSOptions(servers: [server.url], auth: auth, name: "tests", reconnect: reconnect))
    }

    @Test func publishSubscribeWithHeadersAndFlush() async throws {
        try await NATSServerProcess.with { server in
            let nats = try await Self.connect(server)
            defer { nats.close() }
            #expect(nats.serverInfo?.jetStream == true)
            let subscription = try nats.subscribe(to: "greet.*")
            try await nats.flush()
            var headers = NATSHeaders()
            headers["X-Test"] = "yes"
            try nats.publish(to: "greet.joe", payload: Array("hello".utf8), headers: headers, replyTo: "back")
            try nats.publish(to: "greet.ann", payload: Array("plain".utf8))
            try nats.publish(to: "other", payload: Array("not mine".utf8))
            try await nats.flush()
            var iterator = subscription.makeAsyncIterator()
            let first = try #require(await iterator.next())
            let second = try #require(await iterator.next())
            #expect(first.subject == "greet.joe" && first.string == "hello" && first.headers["x-test"] == "yes" && first.replyTo == "back")
            #expect(second.subject == "greet.ann" && second.string == "plain" && second.headers.isEmpty)
            try await subscription.drain()
            #expect(await iterator.next() == nil)
        }
    }

    @Test func aQueueGroupGetsEachMessageOnce() async throws {
        try await NATSServerProcess.with { server in
            let nats = try await Self.connect(server)
            defer { nats.close() }
            let a = try nats.subscribe(to: "work", queue: "q")
            let b = try nats.subscribe(to: "work", queue: "q")
            let all = try nats.subscribe(to: "work")
            try await nats.flush()
            for index in 0..<200 { try nats.publish(to: "work", payload: Array(String(index).utf8)) }
            try await nats.flush()
            try await a.drain()
            try await b.drain()
            try await all.drain()
            var grouped: [String] = []
            for await message in a { grouped.append(message.string!) }
            for await message in b { grouped.append(message.string!) }
            var plain = 0
            for await _ in all { plain += 1 }
            #expect(grouped.count == 200 && Set(grouped).count == 200)
            #expect(plain == 200)
        }
    }

    @Test func requestReplyAndNoRespondersFailsFast() async throws {
        try await NATSServerProcess.with { server in
            let nats = try await Self.connect(server)
            defer { nats.close() }
            let service = try nats.subscribe(to: "echo")
            Task {
                for await request in service {
                    try? nats.publish(to: request.replyTo!, payload: Array("echo: ".utf8) + request.payload)
                }
            }
            try await nats.flush()
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<20 {
                    group.addTask { try await nats.request("echo", payload: Array("\(index)".utf8)).string! }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(answers == Set((0..<20).map { "echo: \($0)" }))
            // Nobody listens: the server says so at once; the 30 s timeout is never reached.
            await #expect {
                _ = try await nats.request("nobody.home", payload: [], timeout: .seconds(30))
            } throws: { error in
                if case NATSError.noResponders(let subject) = error { return subject == "nobody.home" }
                return false
            }
        }
    }

    @Test func maxPayloadIsEnforcedBeforeSending() async throws {
        let config = try NATSServerProcess.configurationFile("max_payload: 1024\n")
        try await NATSServerProcess.with(arguments: ["-c", config]) { server in
            let nats = try await Self.connect(server)
            defer { nats.close() }
            #expect(nats.maxPayload == 1024)
            #expect(throws: NATSError.maxPayloadExceeded(size: 2000, limit: 1024)) {
                try nats.publish(to: "big", payload: Array(repeating: 1, count: 2000))
            }
            try nats.publish(to: "small", payload: Array(repeating: 1, count: 1000))
            try await nats.flush()
        }
    }

    @Test func tokenAndUserPasswordAuth() async throws {
        try await NATSServerProcess.with(arguments: ["--auth", "s3cret"]) { server in
            let nats = try await Self.connect(server, auth: .token("s3cret"))
            try await nats.flush()
            nats.close()
            await #expect {
                _ = try await Self.connect(server, auth: .token("wrong"))
            } throws: { error in
                if case NATSError.authorizationFailed = error { return true }
                return false
            }
        }
        try await NATSServerProcess.with(arguments: ["--user", "warden", "--pass", "pw"]) { server in
            let nats = try await Self.connect(server, auth: .userPassword(user: "warden", password: "pw"))
            try await nats.flush()
            nats.close()
            let fromURL = try await NATSConnection.connect(NATSOptions(servers: ["nats://warden:pw@127.0.0.1:\(server.port)"]))
            try await fromURL.flush()
            fromURL.close()
        }
    }

    @Test func nkeyAuthSignsTheNonce() async throws {
        var random = SystemRandomNumberGenerator()
        let seed = NKeyPair.encodeSeed(publicPrefix: 20 << 3, seed: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
        let publicKey = try NKeyPair(seed: seed).publicKey
        let config = try NATSServerProcess.configurationFile("authorization { users = [ { nkey: \(publicKey) } ] }\n")
        try await NATSServerProcess.with(arguments: ["-c", config]) { server in
            let nats = try await Self.connect(server, auth: .nkey(seed: seed))
            try await nats.flush()
            nats.close()
            let other = NKeyPair.encodeSeed(publicPrefix: 20 << 3, seed: Array(repeating: 1, count: 32))
            await #expect(throws: NATSError.self) { _ = try await Self.connect(server, auth: .nkey(seed: other)) }
        }
    }

    @Test func tlsWithATrustedCertificate() async throws {
        let temporary = try TempFolder()
        let folder = temporary.url.path
        try await makeSelfSignedCertificate(in: folder)
        try await NATSServerProcess.with(arguments: ["--tls", "--tlscert", "\(folder)/cert.pem", "--tlskey", "\(folder)/key.pem"]) { server in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file("\(folder)/cert.pem")
            let nats = try await NATSConnection.connect(NATSOptions(servers: ["tls://127.0.0.1:\(server.port)"], tls: tls))
            defer { nats.close() }
            #expect(nats.serverInfo?.tlsRequired == true)
            let echo = try nats.subscribe(to: "secure")
            try nats.publish(to: "secure", payload: Array("over TLS".utf8))
            var iterator = echo.makeAsyncIterator()
            #expect(await iterator.next()?.string == "over TLS")
            // Without the certificate among the trust roots, the handshake fails.
            await #expect(throws: (any Error).self) {
                _ = try await NATSConnection.connect(NATSOptions(servers: ["tls://127.0.0.1:\(server.port)"], reconnect: .never))
            }
        }
    }

    /// Operator mode: an operator, an account and a user, with JWTs signed as `nsc` signs them, and the
    /// user's `.creds` file (its JWT and seed).
    @Test func credentialsFileInOperatorMode() async throws {
        func seed(_ prefix: UInt8) -> String {
            var random = SystemRandomNumberGenerator()
            return NKeyPair.encodeSeed(publicPrefix: prefix, seed: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
        func base64URL(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        func jwt(issuer: NKeyPair, subject: String, name: String, nats: [String: Any]) throws -> String {
            let header = base64URL(Data(#"{"typ":"JWT","alg":"ed25519-nkey"}"#.utf8))
            let claims: [String: Any] = [
                "jti": NUID.next(), "iat": Int(Date().timeIntervalSince1970), "iss": issuer.publicKey,
                "name": name, "sub": subject, "nats": nats,
            ]
            let body = base64URL(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
            return "\(header).\(body).\(try issuer.sign(nonce: "\(header).\(body)"))"
        }
        let operatorKey = try NKeyPair(seed: seed(14 << 3))
        let accountKey = try NKeyPair(seed: seed(0))
        let systemKey = try NKeyPair(seed: seed(0))
        let userSeed = seed(20 << 3)
        let userKey = try NKeyPair(seed: userSeed)
        let unlimited: [String: Any] = [
            "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "wildcards": true,
            "conn": -1, "leaf": -1,
        ]
        let operatorJWT = try jwt(issuer: operatorKey, subject: operatorKey.publicKey, name: "op", nats: ["type": "operator", "version": 2])
        let accountJWT = try jwt(
            issuer: operatorKey, subject: accountKey.publicKey, name: "acc",
            nats: ["type": "account", "version": 2, "limits": unlimited])
        // JetStream (the launcher's -js) needs a system account.
        let systemJWT = try jwt(issuer: operatorKey, subject: systemKey.publicKey, name: "SYS", nats: ["type": "account", "version": 2])
        let userJWT = try jwt(
            issuer: accountKey, subject: userKey.publicKey, name: "user",
            nats: ["type": "user", "version": 2, "pub": [String: Any](), "sub": [String: Any](), "subs": -1, "data": -1, "payload": -1])
        let temporary = try TempFolder()
        let folder = temporary.url.path
        try operatorJWT.write(toFile: "\(folder)/op.jwt", atomically: true, encoding: .utf8)
        try """
        -----BEGIN NATS USER JWT-----
        \(userJWT)
        ------END NATS USER JWT------

        -----BEGIN USER NKEY SEED-----
        \(userSeed)
        ------END USER NKEY SEED------
        """.write(toFile: "\(folder)/user.creds", atomically: true, encoding: .utf8)
        let config = try NATSServerProcess.configurationFile(
            """
            operator: \(folder)/op.jwt
            resolver: MEMORY
            system_account: \(systemKey.publicKey)
            resolver_preload: { \(accountKey.publicKey): "\(accountJWT)", \(systemKey.publicKey): "\(systemJWT)" }
            """)
        try await NATSServerProcess.with(arguments: ["-c", config]) { server in
            let nats = try await Self.connect(server, auth: .credentials(path: "\(folder)/user.creds"))
            let inbox = try nats.subscribe(to: "creds.ok")
            try nats.publish(to: "creds.ok", payload: Array("signed in".utf8))
            var iterator = inbox.makeAsyncIterator()
            #expect(await iterator.next()?.string == "signed in")
            nats.close()
            await #expect(throws: NATSError.self) { _ = try await Self.connect(server, reconnect: .never) }
        }
    }

    @Test func reconnectsAndSubscribesAgain() async throws {
        let server = try await NATSServerProcess.start()
        do {
            let nats = try await Self.connect(server, reconnect: ReconnectPolicy(initialDelay: .milliseconds(50), maxDelay: .milliseconds(200)))
            defer { nats.close() }
            let subscription = try nats.subscribe(to: "after")
            try await nats.flush()
            await server.halt()
            try await server.launch()
            let clock = ContinuousClock()
            let end = clock.now + .seconds(20)
            while nats.status != .connected || nats.statistics.reconnects == 0 {
                guard clock.now < end else {
                    Issue.record("no reconnection within 20 s")
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            try nats.publish(to: "after", payload: Array("again".utf8))
            try await nats.flush()
            var iterator = subscription.makeAsyncIterator()
            #expect(await iterator.next()?.string == "again")
            #expect(nats.statistics.reconnects == 1)
        }
        await server.stop()
    }

    @Test func drainDeliversWhatWasSentThenCloses() async throws {
        try await NATSServerProcess.with { server in
            let nats = try await Self.connect(server)
            let publisher = try await Self.connect(server)
            defer { publisher.close() }
            let subscription = try nats.subscribe(to: "d")
            try await nats.flush()
            for index in 0..<500 { try publisher.publish(to: "d", payload: Array("\(index)".utf8)) }
            try await publisher.flush()
            try await nats.drain()
            var count = 0
            for await _ in subscription { count += 1 }
            #expect(count == 500)
            #expect(nats.status == .closed)
            #expect(throws: NATSError.closed) { try nats.publish(to: "d", payload: []) }
        }
    }
}
