/// Why talking to an MCP server (or checking its address or command) failed, with a message an
/// operator can act on. The message never contains header or environment values.
public struct MCPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The URL cannot be used: not http(s), no host, unparsable.
        case invalidURL
        /// The address guard refused the host (loopback, private, link-local, metadata...).
        case addressRefused
        /// The host did not resolve.
        case dnsFailure
        /// Nothing listens there, or the connection dropped.
        case connection
        /// No answer within the time allowed.
        case timeout
        /// The server answered with an HTTP error status.
        case httpStatus(Int)
        /// The server answered, but not as an MCP server does.
        case notMCPServer
        /// The server sent a JSON-RPC error object.
        case rpc(code: Int64)
        /// A stdio server's command cannot be run.
        case command
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
