import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ScutumCore
import Synchronization

/// How long the gateway waits on providers.
public struct UpstreamTimeouts: Sendable {
    /// To open a connection (TCP + TLS).
    public var connect: TimeAmount
    /// From sending the request to the response head. Long for non-streaming calls: the provider
    /// sends the head only when the whole answer is ready.
    public var responseHead: TimeAmount
    /// Longest silence while reading a response body (between stream chunks).
    public var idle: TimeAmount

    public init(connect: TimeAmount = .seconds(10), responseHead: TimeAmount = .seconds(600),
        idle: TimeAmount = .seconds(120))
    {
        self.connect = connect
        self.responseHead = responseHead
        self.idle = idle
    }
}

/// The gateway's HTTP client towards providers: one connection pool, the configured timeouts,
/// and the mapping of transport failures and error statuses to `ProviderError`.
public final class UpstreamHTTP: Sendable {
    public let client: HTTPClient
    public let timeouts: UpstreamTimeouts
    /// Largest response body read into memory (non-streaming answers, embeddings).
    public let maximumResponseBytes: Int
    /// HTTP/1.1 connections kept per provider host; requests beyond them wait for one.
    public let maximumConnectionsPerHost: Int
    private let awaitingHeads = Atomic<Int>(0)

    /// Provider requests without a response head yet: being answered, or queued for a connection
    /// once a host has `maximumConnectionsPerHost` busy (HTTP/1.1; HTTP/2 multiplexes instead).
    public var requestsAwaitingHead: Int { awaitingHeads.load(ordering: .relaxed) }

    /// The response-head timeout of the current attempt when a model's retry policy sets one (the
    /// dispatcher binds it around each attempt); nil: `timeouts.responseHead`.
    @TaskLocal public static var attemptTimeout: Duration?

    /// The head timeout for a request made now.
    var headTimeout: TimeAmount {
        Self.attemptTimeout.map(TimeAmount.init) ?? timeouts.responseHead
    }

    /// The default per-host connection cap: one provider host serves every stream of a fleet's node.
    public static let defaultConnectionsPerHost = 4096

    public init(timeouts: UpstreamTimeouts = .init(), maximumConnectionsPerHost: Int = UpstreamHTTP.defaultConnectionsPerHost,
        maximumResponseBytes: Int = 256 * 1024 * 1024)
    {
        self.maximumConnectionsPerHost = maximumConnectionsPerHost
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: timeouts.connect, read: timeouts.idle)
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maximumConnectionsPerHost)
        configuration.decompression = .enabled(limit: .ratio(50))
        configuration.httpVersion = .automatic
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.timeouts = timeouts
        self.maximumResponseBytes = maximumResponseBytes
    }

    /// Shuts the connection pool down; call once, after the last request.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// POSTs JSON and returns the response once its head shows success.
    /// Error statuses are read (bounded) and turned into a `ProviderError` with the provider's message.
    public func postJSON(url: String, headers: [(String, String)], body: ByteBuffer) async throws(ProviderError)
        -> HTTPClientResponse
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        let response: HTTPClientResponse
        awaitingHeads.add(1, ordering: .relaxed)
        defer { awaitingHeads.subtract(1, ordering: .relaxed) }
        do {
            response = try await client.execute(request, timeout: headTimeout)
        } catch {
            throw Self.providerError(for: error)
        }
        guard (200..<300).contains(response.status.code) else {
            let bytes = try? await response.body.collect(upTo: 64 * 1024)
            throw ProviderError(.status(Int(response.status.code)),
                Self.errorMessage(from: bytes, status: response.status),
                retryAfter: response.headers.first(name: "retry-after"))
        }
        return response
    }

    /// Reads a whole response body.
    public func collect(_ response: HTTPClientResponse) async throws(ProviderError) -> ByteBuffer {
        do {
            return try await response.body.collect(upTo: maximumResponseBytes)
        } catch {
            throw Self.providerError(for: error)
        }
    }

    /// Reads a whole response body that must be a JSON object.
    public func collectJSON(_ response: HTTPClientResponse) async throws(ProviderError) -> JSONValue {
        let bytes = try await collect(response)
        guard let json = JSONValue.parse(bytes), json.objectValue != nil else {
            throw ProviderError(.malformed, "the response is not a JSON object")
        }
        return json
    }

    /// Checks a streaming response's content type before reading it.
    public static func expectContentType(_ response: HTTPClientResponse, _ expected: String) throws(ProviderError) {
        let contentType = response.headers.first(name: "content-type") ?? ""
        guard contentType.lowercased().hasPrefix(expected) else {
            throw ProviderError(.malformed, "expected '\(expected)', got '\(contentType)'")
        }
    }

    /// Maps a transport error to a `ProviderError`.
    public static func providerError(for error: any Error) -> ProviderError {
        if let error = error as? ProviderError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded: return ProviderError(.timeout, "no response within the response timeout")
            case .readTimeout: return ProviderError(.timeout, "the response stalled longer than the idle timeout")
            case .connectTimeout: return ProviderError(.timeout, "could not connect within the connect timeout")
            case .remoteConnectionClosed: return ProviderError(.connection, "the provider closed the connection")
            case .cancelled: return ProviderError(.connection, "the request was cancelled")
            default: return ProviderError(.connection, "\(error)")
            }
        }
        if error is NIOTooManyBytesError {
            return ProviderError(.malformed, "the response is larger than the gateway accepts")
        }
        if error is CancellationError { return ProviderError(.connection, "the request was cancelled") }
        return ProviderError(.connection, String(describing: error))
    }

    /// A provider's error answer as a `ProviderError`: its status, its own message, its `Retry-After`.
    public static func statusError(_ status: HTTPResponseStatus, body: ByteBuffer?, retryAfter: String?) -> ProviderError {
        ProviderError(.status(Int(status.code)), errorMessage(from: body, status: status), retryAfter: retryAfter)
    }

    /// The provider's own error message from an error body (OpenAI and Azure shapes), else a short excerpt.
    static func errorMessage(from body: ByteBuffer?, status: HTTPResponseStatus) -> String {
        guard let body, body.readableBytes > 0 else { return "HTTP \(status.code) \(status.reasonPhrase)" }
        struct Envelope: Decodable {
            struct Detail: Decodable { var message: String? }
            var error: Detail?
            var message: String?
        }
        if let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(body.readableBytesView)),
            let message = envelope.error?.message ?? envelope.message
        {
            return message
        }
        let text = String(decoding: body.readableBytesView.prefix(300), as: UTF8.self)
        return text.isEmpty ? "HTTP \(status.code)" : text
    }
}

/// Joining a configured base URL and a path.
enum URLPath {
    static func join(_ base: String, _ path: String) -> String {
        base.hasSuffix("/") ? base + path : base + "/" + path
    }

    /// One path segment percent-encoded: everything but RFC 3986's unreserved characters and
    /// `also` (so a Bedrock model id's `:` is sent as `%3A`, as AWS expects, while Vertex AI's
    /// `claude-sonnet-4-5@20250929` keeps its `@`).
    static func segment(_ text: String, also: Set<UInt8> = []) -> String {
        PercentEncoding.encode(text.utf8, keeping: also)
    }
}

