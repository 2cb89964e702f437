import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PostgresNIO
import ScutumProviders
import ScutumStore
import ScutumTestSupport
import Synchronization
import Testing
import X509

@testable import ScutumProxy

/// Chat completions to OpenAI-compatible deployments are served by the direct lane, on the event
/// loop that read them; what they get and what is booked is what the router gives, and everything
/// the lane cannot do without waiting goes to the router.
@Suite("The direct lane")
struct DirectLaneTests {
    /// `scutum_direct_lane_total{outcome=...}` from the node's `/metrics`.
    static func laneCount(_ gateway: Gateway, _ outcome: String) async throws -> Int {
        let metrics = try await gateway.request("/metrics", method: .GET, key: nil)
        let prefix = #"scutum_direct_lane_total{outcome="\#(outcome)"} "#
        for line in metrics.body.split(separator: "\n") where line.hasPrefix(prefix) {
            return Int(Double(line.dropFirst(prefix.count)) ?? 0)
        }
        return 0
    }

    @Test("a virtual key's chat takes the lane once its key is cached: same answer, headers and spend row")
    func servedAndBooked() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "lane", settings: KeySettings(rpmLimit: 1000))
            // The first requests wait on what the lane never waits for: the key's look-up, then the
            // first rate-limit leases. The router serves them.
            try await Self.warmUp(gateway, key: key)
            let servedBefore = try await Self.laneCount(gateway, "served")
            let warmRows = try await servedBefore + Self.laneCount(gateway, "routed")
            var ids: [String] = []
            for index in 0..<3 {
                let result = try await gateway.request("/v1/chat/completions", key: key,
                    body: Gateway.chat("lane \(index)"), headers: index == 2 ? [("x-request-id", "caller-id-2")] : [])
                #expect(result.status == 200, "\(result.body)")
                #expect(try result.json["model"] as? String == "gpt-test")
                #expect(result.header("content-type") == "application/json")
                #expect(result.header("x-scutum-overhead-ms").flatMap(Double.init) != nil)
                #expect(result.header("server") == "scutum")
                #expect(result.header("date")?.hasSuffix(" GMT") == true)
                ids.append(try #require(result.header("x-request-id")))
            }
            #expect(ids[2] == "caller-id-2")
            // The first request looked its key up (the router's work); the others took the lane.
            // Each took the lane unless a lease ran dry under load (then the router answered alike).
            let servedCount = try await Self.laneCount(gateway, "served")
            #expect(servedCount > servedBefore)
            let total = warmRows + 3
            let rows = try await eventually(timeout: .seconds(20)) { () async throws -> Int? in
                let (count, _) = try await PlatformTests.count(gateway.node.postgres,
                    "SELECT count(*)::int8, coalesce(sum(cost), 0)::float8 FROM spend_logs WHERE key_id = \(record.keyID) AND status = 200 AND prompt_tokens > 0")
                return count == total ? count : nil
            }
            #expect(rows == total)
            // The rate limit counted all three.
            let limited = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("count"))
            #expect(limited.header("x-ratelimit-limit-requests") == nil || limited.status == 200)
        }
    }

    @Test("a lane call that fails goes on in the pipeline: the retry, then the fallback, one spend row")
    func failureContinues() async throws {
        try await Gateway.with { gateway in
            try await Self.warmUp(gateway)
            try await Self.untilLane(gateway, "continued",
                body: Gateway.chat(model: "primary-test", "[mock:status=503] [mock:fail_model=primary-upstream] hi"),
                headers: [("x-request-id", "lane-fallback")]) { (result: HTTPResult) throws in
                #expect(result.status == 200, "\(result.body)")
                #expect(try result.json["model"] as? String == "gpt-test-2")
                #expect(result.header("x-request-id") == "lane-fallback")
                // The primary tried twice (the lane's call, the pipeline's retry), then the fallback once.
                let models = gateway.mockLog.entries.compactMap { entry -> String? in
                    (try? JSONSerialization.jsonObject(with: Data(entry.body)) as? [String: Any])?["model"] as? String
                }
                #expect(models.suffix(3) == ["primary-upstream", "primary-upstream", "gpt-upstream-2"])
            }
            let served = try await eventually(timeout: .seconds(20)) { () async throws -> [String]? in
                let rows = try await gateway.node.postgres.query(
                    "SELECT model_served FROM spend_logs WHERE model_requested = 'primary-test'",
                    logger: TestEnvironment.logger)
                var found: [String] = []
                for try await name in rows.decode(String.self) { found.append(name) }
                return found.isEmpty ? nil : found
            }
            #expect(served?.isEmpty == false && served?.allSatisfy { $0 == "gpt-test-2" } == true, "\(served ?? [])")

            // The whole chain failing is the router's 503 listing every model, in OpenAI's error JSON.
            let failed = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "primary-test", "[mock:status=500] hi"))
            #expect(failed.status == 503)
            let message = try #require(try failed.openAIError["message"] as? String)
            for model in ["primary-test", "gpt-test-2", "big-context-test"] { #expect(message.contains(model)) }
            // And the next request is served.
            let next = try await gateway.request("/v1/chat/completions", body: Gateway.chat("after"))
            #expect(next.status == 200)
        }
    }

    @Test("a kept connection the provider closes as it is reused: the call is sent again on a new one, once")
    func staleConnectionRetried() async throws {
        let server = try await OneRequestServer.start()
        let lanes = UpstreamLanes()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let port = server.port
        func call(_ index: Int) async throws -> String {
            let promise = loop.makePromise(of: String.self)
            loop.execute {
                let request = LaneRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions", headers: [],
                    body: ByteBuffer(string: #"{"n":\#(index)}"#))!
                lanes.currentPool()!.send(request, to: Collector(promise))
            }
            return try await promise.futureResult.get()
        }
        #expect(try await call(1) == "200 answer 1")
        // The provider closes the kept connection when the second request arrives on it, before answering.
        #expect(try await call(2) == "200 answer 1")
        #expect(server.accepted == 2)
        // A provider that is gone is a connection error, not a hang.
        await server.stop()
        await #expect(throws: ProviderError.self) { try await call(3) }
        lanes.shutdown()
    }

    @Test("https: the provider's certificate verified against the trust roots and its name; an untrusted one is refused")
    func tls() async throws {
        let (certificate, key) = try Self.selfSigned(name: "localhost")
        let server = try await OneRequestServer.start(tls: (certificate, key))
        let port = server.port
        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .certificates([certificate])
        let lanes = UpstreamLanes(tls: trusting)
        let strangers = UpstreamLanes()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        func call(_ lanes: UpstreamLanes, host: String) async throws -> String {
            let promise = loop.makePromise(of: String.self)
            loop.execute {
                let request = LaneRequest(url: "https://\(host):\(port)/v1/chat/completions", headers: [],
                    body: ByteBuffer(string: "{}"))!
                lanes.currentPool()!.send(request, to: Collector(promise))
            }
            return try await promise.futureResult.get()
        }
        #expect(try await call(lanes, host: "localhost") == "200 answer 1")
        // Not in the trust roots: refused before anything is sent.
        await #expect(throws: ProviderError.self) { try await call(strangers, host: "localhost") }
        // Trusted, but not the name it was issued for.
        await #expect(throws: ProviderError.self) { try await call(lanes, host: "127.0.0.1") }
        await server.stop()
        lanes.shutdown()
        strangers.shutdown()
    }

    /// A self-signed certificate for `name` and its key.
    static func selfSigned(name: String) throws -> (NIOSSLCertificate, NIOSSLPrivateKey) {
        let key = P256.Signing.PrivateKey()
        let signer = Certificate.PrivateKey(key)
        let subject = try DistinguishedName { CommonName(name) }
        let now = Date()
        let certificate = try Certificate(version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: signer.publicKey, notValidBefore: now - 3600, notValidAfter: now + 3600,
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                SubjectAlternativeNames([.dnsName(name)])
            }, issuerPrivateKey: signer)
        let pem = try certificate.serializeAsPEM().pemString
        return (try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem),
            try NIOSSLPrivateKey(bytes: Array(key.derRepresentation), format: .der))
    }

    @Test("twenty requests in a row reuse the lane's kept connections")
    func staleConnection() async throws {
        try await Gateway.with { gateway in
            try await Self.warmUp(gateway)
            // The mock answers this one with `Connection: close`... or keeps it; either way a closed
            // idle connection must not fail the next request.
            for index in 0..<20 {
                let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat("again \(index)"))
                #expect(result.status == 200, "\(result.body)")
            }
            let servedCount = try await Self.laneCount(gateway, "served")
            #expect(servedCount >= 1)
        }
    }

    @Test("requests pipelined on one connection are answered in order, lane and router mixed")
    func pipelined() async throws {
        try await Gateway.with { gateway in
            try await Self.warmUp(gateway)
            let port = Int(gateway.baseURL.split(separator: ":").last!)!
            func post(_ id: String, _ body: String, close: Bool = false) -> String {
                "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(Gateway.masterKey)\r\n"
                    + "Content-Type: application/json\r\nx-request-id: \(id)\r\nContent-Length: \(body.utf8.count)\r\n"
                    + (close ? "Connection: close\r\n" : "") + "\r\n" + body
            }
            let requests = post("p1", Gateway.chat("one"))
                + "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(Gateway.masterKey)\r\nx-request-id: p2\r\n\r\n"
                + post("p3", Gateway.chat("three"))
                + post("p4", Gateway.chat("four", stream: true))
                + post("p5", Gateway.chat("five"))
                + post("p6", #"{"model":"gpt-test","messages":[{"role":"user","content":"six"}]"#)  // malformed
                + post("p7", Gateway.chat("seven"), close: true)
            let answer = try await Self.exchange(port: port, bytes: requests)
            let ids = answer.components(separatedBy: "\r\n").compactMap { line -> String? in
                line.lowercased().hasPrefix("x-request-id: ") ? String(line.dropFirst("x-request-id: ".count)) : nil
            }
            #expect(ids == ["p1", "p2", "p3", "p4", "p5", "p6", "p7"], "\(answer.prefix(3000))")
            // Bodies with a Content-Length end without a line break: the next status line follows directly.
            let statuses = answer.matches(of: /HTTP\/1\.1 \d{3} [A-Za-z ]+\r\n/).map {
                String(answer[$0.range].dropLast())  // "\r\n" is one Character
            }
            #expect(statuses == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK",
                "HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request", "HTTP/1.1 200 OK"])
            // p1 took the lane (unless a lease ran dry under load); everything pipelined behind a request
            // at the router stays in line there.
        }
    }

    @Test("SCUTUM_DIRECT_LANE=off leaves every request to the router")
    func off() async throws {
        try await Gateway.with(variables: ["SCUTUM_DIRECT_LANE": "off"]) { gateway in
            let result = try await gateway.request("/v1/chat/completions", body: Gateway.chat("router"))
            #expect(result.status == 200)
            let servedCount = try await Self.laneCount(gateway, "served")
            #expect(servedCount == 0)
            let routedCount = try await Self.laneCount(gateway, "routed")
            #expect(routedCount == 0)
        }
    }

    /// Statuses of the master key's spend rows with usage, once `done` says they are all there.
    static func statuses(_ gateway: Gateway, until done: @escaping ([Int]) -> Bool) async throws -> [Int] {
        try await eventually(timeout: .seconds(30)) { () async throws -> [Int]? in
            let rows = try await gateway.node.postgres.query(
                "SELECT status FROM spend_logs WHERE key_id IS NULL AND prompt_tokens > 0 AND completion_tokens > 0",
                logger: TestEnvironment.logger)
            var found: [Int] = []
            for try await status in rows.decode(Int.self) { found.append(status) }
            return done(found) ? found : nil
        } ?? []
    }

    @Test("streams take the lane too: relayed whole, relabelled, usage only when asked, and every ending billed")
    func streams() async throws {
        try await Gateway.with { gateway in
            let key = Gateway.masterKey
            try await Self.warmUp(gateway)
            let before = try await Self.laneCount(gateway, "served")

            // Delivered: chunks relabelled, [DONE] at the end, the usage chunk only when asked for.
            let plain = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat("Tell me about Paris", stream: true))
            #expect(plain.status == 200)
            #expect(plain.header("content-type") == "text/event-stream")
            #expect(plain.body.hasSuffix("data: [DONE]\n\n"))
            let chunks = try SSEFrames(plain.body).chunks()
            #expect(!chunks.isEmpty && chunks.allSatisfy { $0["model"] as? String == "gpt-test" })
            #expect(!chunks.contains { $0["usage"] is [String: Any] })
            let asked = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat("Tell me about Paris", stream: true, extra: #","stream_options":{"include_usage":true}"#))
            #expect(try SSEFrames(asked.body).chunks().contains { $0["usage"] is [String: Any] })

            // The client gone after two chunks: read on for the usage, 499.
            // (A slow stream, so the client leaves mid-way even on a loaded machine.)
            try await AbandonedStreamTests.leave(gateway, key: key, requestID: "lane-leave",
                content: "Tell me about Paris [mock:tokens_per_sec=20] [mock:repeat=3]", leaveAfterFrames: 2)
            let settled = try await Self.statuses(gateway) { $0.contains(499) }
            #expect(settled.contains(499), "\(settled)")
            // The provider failing mid-way: the failure as the last event, no [DONE], 502.
            let broken = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat("Tell me about Paris [mock:disconnect_after=3]", stream: true))
            #expect(broken.status == 200)
            #expect(!broken.body.contains("[DONE]"))
            #expect(broken.body.contains(#""error""#))
            let next = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("next", stream: true))
            #expect(next.status == 200)

            let served = try await Self.laneCount(gateway, "served")
            #expect(served > before)
            let statuses = try await Self.statuses(gateway) { $0.contains(502) && $0.filter { $0 == 200 }.count >= 4 }
            #expect(statuses.filter { $0 == 499 }.count == 1 && statuses.filter { $0 == 502 }.count == 1, "\(statuses)")
        }
    }

    @Test("a stream whose first call fails before its head falls back through the pipeline, on the same connection")
    func streamFallback() async throws {
        try await Gateway.with { gateway in
            try await Self.warmUp(gateway)
            try await Self.untilLane(gateway, "continued",
                body: Gateway.chat(model: "primary-test", "[mock:status=500] [mock:fail_model=primary-upstream] hi",
                    stream: true), headers: [("x-request-id", "lane-stream-fallback")]) { (result: HTTPResult) throws in
                #expect(result.status == 200)
                #expect(result.header("x-request-id") == "lane-stream-fallback")
                let chunks = try SSEFrames(result.body).chunks()
                #expect(chunks.first?["model"] as? String == "gpt-test-2")
                #expect(result.body.hasSuffix("data: [DONE]\n\n"))
            }
            // The whole chain failing: the error JSON, and the connection serves the next request.
            let failed = try await gateway.request("/v1/chat/completions",
                body: Gateway.chat(model: "primary-test", "[mock:status=500] hi", stream: true))
            #expect(failed.status == 503)
            let next = try await gateway.request("/v1/chat/completions", body: Gateway.chat("after", stream: true))
            #expect(next.status == 200)
        }
    }

    @Test("the per-request text work: the Bearer token read byte by byte, the overhead figure without a formatter")
    func perRequestText() {
        #expect(Authenticator.bearerToken("Bearer sk-abc") == "sk-abc")
        #expect(Authenticator.bearerToken("  bEaReR \t sk-abc \t") == "sk-abc")
        #expect(Authenticator.bearerToken("Bearer") == nil)
        #expect(Authenticator.bearerToken("Bearer   ") == nil)
        #expect(Authenticator.bearerToken("Bearersk-abc") == nil)
        #expect(Authenticator.bearerToken("Basic dXNlcjpwYXNz") == nil)
        #expect(Authenticator.bearerToken("Bearer sk-é✓") == "sk-é✓")
        #expect(RequestLedger.milliseconds(.microseconds(42)) == "0.042")
        #expect(RequestLedger.milliseconds(.nanoseconds(1_234_567)) == "1.235")
        #expect(RequestLedger.milliseconds(.seconds(2) + .microseconds(5)) == "2000.005")
        #expect(RequestLedger.milliseconds(.zero) == "0.000")
    }

    /// Requests with `key` until one takes the lane (the key cached, its leases held); on a loaded
    /// machine the first ones wait on Redis and go to the router.
    static func warmUp(_ gateway: Gateway, key: String = Gateway.masterKey) async throws {
        let before = try await laneCount(gateway, "served")
        for attempt in 0..<50 {
            let result = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("warm up \(attempt)"))
            #expect(result.status == 200)
            if try await laneCount(gateway, "served") > before { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("no request took the direct lane")
    }

    /// Sends `body` until the lane counted it as `outcome` (a request left to the router instead is
    /// checked the same way by `check`), at most `attempts` times.
    static func untilLane(_ gateway: Gateway, _ outcome: String, key: String = Gateway.masterKey, body: String,
        headers: [(String, String)] = [], attempts: Int = 10, check: (HTTPResult) throws -> Void) async throws
    {
        for _ in 0..<attempts {
            let before = try await laneCount(gateway, outcome)
            let result = try await gateway.request("/v1/chat/completions", key: key, body: body, headers: headers)
            try check(result)
            if try await laneCount(gateway, outcome) > before { return }
        }
        throw TestFailure("the lane never counted '\(outcome)'")
    }

    /// Writes `bytes` on a new connection and reads until the server closes it.
    static func exchange(port: Int, bytes: String) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: bytes))
            var received = ""
            for try await chunk in inbound { received += String(buffer: chunk) }
            return received
        }
    }

    /// Collects a lane call's answer as "status body", or fails with its error.
    final class Collector: LaneResponseHandler {
        let promise: EventLoopPromise<String>
        var status = 0
        var body = ""
        init(_ promise: EventLoopPromise<String>) { self.promise = promise }
        func laneResponseHead(_ head: HTTPResponseHead) { status = Int(head.status.code) }
        func laneResponseBody(_ bytes: ByteBuffer) { body += String(buffer: bytes) }
        func laneResponseEnd() { promise.succeed("\(status) \(body)") }
        func laneFailed(_ error: ProviderError, receivedHead: Bool) { promise.fail(error) }
    }

    /// An HTTP/1.1 server that answers the first request on each connection ("answer <n>", n its
    /// connection's request count) and closes the connection when a second one arrives on it.
    final class OneRequestServer: Sendable {
        let channel: any Channel
        let count = Mutex(0)
        var port: Int { channel.localAddress?.port ?? 0 }
        var accepted: Int { count.withLock { $0 } }

        private init(channel: any Channel) { self.channel = channel }

        static func start(tls: (NIOSSLCertificate, NIOSSLPrivateKey)? = nil) async throws -> OneRequestServer {
            let holder = Mutex<OneRequestServer?>(nil)
            let context = try tls.map { certificate, key in
                try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate)],
                    privateKey: .privateKey(key)))
            }
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    holder.withLock { $0?.count.withLock { $0 += 1 } }
                    return channel.eventLoop.makeCompletedFuture {
                        if let context {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                        }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(Handler())
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            let server = OneRequestServer(channel: channel)
            holder.withLock { $0 = server }
            return server
        }

        func stop() async { try? await channel.close() }

        final class Handler: ChannelInboundHandler {
            typealias InboundIn = HTTPServerRequestPart
            typealias OutboundOut = HTTPServerResponsePart
            var requests = 0

            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                switch unwrapInboundIn(data) {
                case .head:
                    requests += 1
                    if requests > 1 { context.close(promise: nil) }
                case .body: break
                case .end:
                    guard requests == 1 else { return }
                    let body = ByteBuffer(string: "answer \(requests)")
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Length", value: String(body.readableBytes))
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                        promise: nil)
                    context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }
}
