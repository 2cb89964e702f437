import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ScutumMock

/// `scutum-mock`: the mock upstream as a standalone server.
@main
struct MockServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scutum-mock",
        abstract: "A mock LLM provider speaking the wire formats of OpenAI, Azure OpenAI, Anthropic, Gemini, Vertex AI and Bedrock, plus a small MCP server at /mcp (streamable HTTP) and /sse (legacy SSE).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (env SCUTUM_MOCK_PORT).")
    var port = Int(ProcessInfo.processInfo.environment["SCUTUM_MOCK_PORT"] ?? "") ?? 9100
    @Option(help: "Delay before every response head, in ms.") var latencyMs = 0
    @Option(help: "Delay before the first stream chunk, in ms.") var ttftMs = 0
    @Option(help: "Pace of stream chunks; 0 is as fast as possible.") var tokensPerSec = 0.0
    @Option(help: "Fail every request with this HTTP status.") var status: Int?
    @Option(help: "Drop streams after this many content chunks.") var disconnectAfter: Int?
    @Flag(help: "Send a malformed SSE line in every stream.") var malformed = false

    func run() async throws {
        var logger = Logger(label: "scutum.mock")
        logger.logLevel = .warning
        let knobs = MockKnobs(latency: .milliseconds(latencyMs), timeToFirstToken: .milliseconds(ttftMs),
            tokensPerSecond: tokensPerSec, status: status, disconnectAfterChunks: disconnectAfter,
            malformedSSE: malformed)
        let host = self.host
        let app = MockUpstream.application(host: host, port: port, knobs: knobs, log: MockRequestLog(), logger: logger) {
            port in
            FileHandle.standardOutput.write(Data("scutum-mock listening on http://\(host):\(port)\n".utf8))
        }
        try await app.runService()
    }
}

