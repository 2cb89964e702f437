import NIOCore
import NIOHTTP1

/// One provider call as the direct lane sends it: an HTTP/1.1 POST to an `http://` or `https://`
/// origin, its body already the bytes to send.
public struct LaneRequest: Sendable {
    /// The connection pool's key: `scheme://host:port`.
    public var origin: String
    public var host: String
    public var port: Int
    /// Over TLS (`https://`).
    public var tls: Bool
    /// The path and query, e.g. `/v1/chat/completions`.
    public var target: String
    /// Extra headers (authentication); `Host`, `Content-Type`, `Accept` and `Content-Length` are added.
    public var headers: [(String, String)]
    public var body: ByteBuffer
    /// The wait for the response head when a retry policy sets one; nil: the lanes' own.
    public var headTimeout: TimeAmount?

    public init?(url: String, headers: [(String, String)], body: ByteBuffer) {
        guard let parsed = Self.parse(url) else { return nil }
        (self.tls, self.host, self.port, self.target) = parsed
        self.origin = "\(tls ? "https" : "http")://\(host):\(port)"
        self.headers = headers
        self.body = body
    }

    /// Whether TLS, the host, port and request target of an `http://` or `https://` URL; nil for
    /// anything else (user info, IPv6 literals), which the lane leaves to the general client.
    static func parse(_ url: String) -> (tls: Bool, host: String, port: Int, target: String)? {
        let tls: Bool
        if url.hasPrefix("http://") {
            tls = false
        } else if url.hasPrefix("https://") {
            tls = true
        } else {
            return nil
        }
        let rest = url.dropFirst(tls ? "https://".count : "http://".count)
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        // Characters, not `contains(_: StringProtocol)`: that one is Foundation's, and costs a string
        // search per request.
        guard !authority.isEmpty, !authority.contains(where: { $0 == "@" || $0 == "[" }) else { return nil }
        var host = Substring(authority)
        var port = tls ? 443 : 80
        if let colon = authority.lastIndex(of: ":") {
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else {
                return nil
            }
            host = authority[..<colon]
            port = number
        }
        guard !host.isEmpty else { return nil }
        var target = String(rest[authorityEnd...])
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        return (tls, String(host), port, target)
    }

    /// The request head, `Host` first.
    func head() -> HTTPRequestHead {
        var fields = HTTPHeaders()
        fields.reserveCapacity(headers.count + 4)
        fields.add(name: "Host", value: port == (tls ? 443 : 80) ? host : "\(host):\(port)")
        fields.add(name: "Content-Type", value: "application/json")
        fields.add(name: "Accept", value: "application/json, text/event-stream")
        fields.add(name: "Content-Length", value: String(body.readableBytes))
        for (name, value) in headers { fields.add(name: name, value: value) }
        return HTTPRequestHead(version: .http1_1, method: .POST, uri: target, headers: fields)
    }
}
