import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ScutumCore

/// The HTTP side of talking to MCP servers: the client to use and the mapping of transport
/// failures and error statuses to `MCPError`.
public enum MCPHTTP {
    /// A process-wide client for MCP servers: redirects are never followed (a redirect could lead
    /// past `MCPAddressGuard` to an internal address) and a refused connection fails at once
    /// instead of being retried until the connect timeout.
    public static let shared = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration())

    /// The configuration of `shared`, for callers that manage their own client.
    public static func configuration(connectTimeout: TimeAmount = .seconds(5)) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: connectTimeout)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.idleTimeout = .seconds(30)
        return configuration
    }

    /// A client that reaches `host` only at `address`, an address `MCPAddressGuard` checked, so DNS
    /// cannot answer differently between the check and the connection. The URL keeps the name:
    /// it goes in the `Host` header, and over TLS in the SNI and the certificate verification.
    /// Only the one address is tried (no fallback to the host's other addresses). Shut it down after use.
    static func pinnedClient(host: String, address: IPAddress, connectTimeout: TimeAmount = .seconds(5)) -> HTTPClient {
        var configuration = configuration(connectTimeout: connectTimeout)
        // async-http-client looks the override up by the URL's host as written; cover both spellings.
        configuration.dnsOverride[host] = address.description
        configuration.dnsOverride[host.lowercased()] = address.description
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Largest JSON reply read into memory.
    static let maximumResponseBytes = 16 * 1024 * 1024

    /// `error` as an `MCPError` about `url`.
    static func error(_ error: any Error, url: String) -> MCPError {
        if let error = error as? MCPError { return error }
        let place = hostAndPort(url)
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return MCPError(.timeout, "could not connect to \(place) in time")
            case .deadlineExceeded, .readTimeout: return MCPError(.timeout, "\(place) did not answer in time")
            case .remoteConnectionClosed: return MCPError(.connection, "\(place) closed the connection")
            case .invalidURL, .emptyHost: return MCPError(.invalidURL, "'\(url)' is not a usable URL")
            case .redirectLimitReached, .redirectCycleDetected:
                return MCPError(.connection, "\(place) redirected; MCP server URLs must answer directly")
            default: break
            }
        }
        if let error = error as? NIOConnectionError {
            if let failure = error.connectionErrors.first, let io = failure.error as? IOError {
                return connectionError(io.errnoCode, place: place)
            }
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return MCPError(.dnsFailure, "the host of \(place) does not resolve")
            }
        }
        if let io = error as? IOError { return connectionError(io.errnoCode, place: place) }
        if error is NIOTooManyBytesError {
            return MCPError(.notMCPServer, "\(place) sent a reply larger than \(maximumResponseBytes) bytes")
        }
        if error is CancellationError { return MCPError(.timeout, "the call to \(place) was cancelled") }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return MCPError(.timeout, "could not connect to \(place) in time")
        }
        return MCPError(.connection, "could not talk to \(place): \(error)")
    }

    static func connectionError(_ code: CInt, place: String) -> MCPError {
        switch code {
        case ECONNREFUSED: MCPError(.connection, "connection refused: nothing is listening at \(place)")
        case EHOSTUNREACH, ENETUNREACH: MCPError(.connection, "\(place) is unreachable")
        case ETIMEDOUT: MCPError(.timeout, "could not connect to \(place) in time")
        default: MCPError(.connection, "could not connect to \(place): \(String(cString: strerror(code)))")
        }
    }

    /// An error status as an `MCPError`, with the server's JSON-RPC message when the body has one.
    static func statusError(_ status: HTTPResponseStatus, body: ByteBuffer?, url: String, method: String) -> MCPError {
        let code = Int(status.code)
        let head = "\(hostAndPort(url)) answered '\(method)' with HTTP \(code) \(status.reasonPhrase)"
        if let body, let json = JSONValue.parse(body), let error = json["error"], let message = error["message"]?.stringValue {
            return MCPError(.httpStatus(code), "\(head): \(message)")
        }
        if code == 401 || code == 403 {
            return MCPError(.httpStatus(code), "\(head): the server wants credentials; check the configured headers")
        }
        if (code == 404 || code == 405) && (method == "initialize" || method == "GET") {
            return MCPError(.httpStatus(code), "\(head): this URL is not an MCP endpoint (check the path and the "
                + "server type: 'http' for streamable HTTP, 'sse' for the legacy SSE transport)")
        }
        return MCPError(.httpStatus(code), head)
    }

    /// `host:port` of a URL, for messages (never the path or query, which may carry tokens).
    static func hostAndPort(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "the server" }
        let port = components.port ?? (components.scheme?.lowercased() == "https" ? 443 : 80)
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The `Content-Type` media type of a response, lowercased, without parameters.
    static func mediaType(_ response: HTTPClientResponse) -> String {
        let value = response.headers.first(name: "content-type") ?? ""
        return value.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }
}
