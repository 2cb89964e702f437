import AsyncHTTPClient
import Foundation
import NIOCore
import ScutumProxy
import ScutumRedis
import ScutumTestSupport
import Testing

@Suite("Node lifecycle and background work")
struct LifecycleTests {
    @Test("graceful shutdown lets an open stream finish")
    func drainsStreams() async throws {
        try await Gateway.with { gateway in
            var request = HTTPClientRequest(url: gateway.baseURL + "/v1/chat/completions")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(Gateway.masterKey)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: Gateway.chat(
                "Write a short poem about APIs. [mock:tokens_per_sec=25]", stream: true)))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            var body = ""
            var shutdownStarted = false
            for try await buffer in response.body {
                body += String(buffer: buffer)
                if !shutdownStarted {
                    shutdownStarted = true
                    // The stream is open: start the node's graceful shutdown now.
                    Task { await gateway.shutdown() }
                }
            }
            #expect(shutdownStarted)
            #expect(SSEFrames(body).endsWithDone, "stream was cut: \(body.suffix(200))")
        }
    }
}
