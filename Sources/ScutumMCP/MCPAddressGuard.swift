import Foundation
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps MCP server URLs away from the gateway's own network (SSRF): only `http` and `https`,
/// and every address the host resolves to must be public unless the operator allow-listed the
/// host, the address or a block containing it.
///
/// Refused: loopback, private (RFC 1918, CGNAT `100.64/10`, IPv6 unique-local `fc00::/7`),
/// link-local (`169.254/16`, `fe80::/10`), unspecified, multicast and reserved addresses, and the
/// cloud metadata services (`169.254.169.254`, `fd00:ec2::254`, `100.100.100.200`).
///
/// `check` resolves the host once and returns the addresses it checked. `MCPClient` (given the guard)
/// connects only to the first of them, keeping the name for `Host`, SNI and certificate checks, so a
/// DNS server that answers differently the second time (rebinding) is not followed. A host allowed by
/// name is not resolved here and connects as the system resolves it: allow-list narrowly.
public struct MCPAddressGuard: Sendable {
    /// Why an address is refused.
    public enum AddressClass: String, Sendable, Equatable {
        case loopback
        case privateNetwork = "private"
        case linkLocal = "link-local"
        case unspecified
        case metadata = "cloud metadata"
        case multicast
        case reserved

        /// "a loopback address", "the cloud metadata address"...
        var phrase: String {
            switch self {
            case .metadata: "a cloud metadata service address"
            case .unspecified: "an unspecified address"
            default: "a \(rawValue) address"
            }
        }
    }

    /// Host names allowed whatever they resolve to (`*.corp.example` covers subdomains).
    public let allowedHosts: [String]
    /// Addresses and blocks allowed although not public.
    public let allowedNetworks: [IPNetwork]

    /// - Parameter allowList: host names, IP addresses and CIDR blocks (the `mcp_allowed_hosts` setting).
    public init(allowList: [String] = []) {
        var hosts: [String] = []
        var networks: [IPNetwork] = []
        for entry in allowList.map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            if let network = IPNetwork(entry) {
                networks.append(network)
            } else {
                hosts.append(entry.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".")))
            }
        }
        allowedHosts = hosts
        allowedNetworks = networks
    }

    static let blocked: [(IPNetwork, AddressClass)] = ([
        ("169.254.169.254/32", .metadata), ("fd00:ec2::254/128", .metadata), ("100.100.100.200/32", .metadata),
        ("0.0.0.0/8", .unspecified), ("::/128", .unspecified),
        ("127.0.0.0/8", .loopback), ("::1/128", .loopback),
        ("10.0.0.0/8", .privateNetwork), ("172.16.0.0/12", .privateNetwork), ("192.168.0.0/16", .privateNetwork),
        ("100.64.0.0/10", .privateNetwork), ("fc00::/7", .privateNetwork),
        ("169.254.0.0/16", .linkLocal), ("fe80::/10", .linkLocal),
        ("224.0.0.0/4", .multicast), ("ff00::/8", .multicast),
        ("240.0.0.0/4", .reserved), ("192.0.0.0/24", .reserved), ("198.18.0.0/15", .reserved),
    ] as [(String, AddressClass)]).map { (IPNetwork($0.0)!, $0.1) }

    /// Why `address` is refused, or nil for a public address.
    public static func classify(_ address: IPAddress) -> AddressClass? {
        blocked.first { $0.0.contains(address) }?.1
    }

    /// Whether `host` is on the allow-list by name.
    public func allows(host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return allowedHosts.contains { entry in
            entry == host || (entry.hasPrefix("*.") && host.hasSuffix(entry.dropFirst(1)))
        }
    }

    /// Whether `address` is on the allow-list.
    public func allows(_ address: IPAddress) -> Bool {
        allowedNetworks.contains { $0.contains(address) }
    }

    /// Checks `url` and returns the addresses its host resolves to; throws `MCPError` with kind
    /// `invalidURL`, `dnsFailure` or `addressRefused` and a message that says what to change.
    /// Resolution runs on NIO's thread pool, never on an event loop.
    @discardableResult
    public func check(url: String) async throws(MCPError) -> [IPAddress] {
        let host = try Self.host(of: url)
        if allows(host: host) { return [] }
        let addresses: [IPAddress]
        if let literal = IPAddress(host) {
            addresses = [literal]
        } else {
            addresses = try await Self.resolve(host)
        }
        for address in addresses where !allows(address) {
            if let refused = Self.classify(address) {
                let origin = IPAddress(host) == nil ? "\(address) (the address of '\(host)')" : "\(address)"
                throw MCPError(.addressRefused,
                    "refused: \(origin) is \(refused.phrase); the gateway does not call internal addresses unless the "
                        + "host or address is in the mcp_allowed_hosts setting")
            }
        }
        return addresses
    }

    /// The host of an `http(s)` URL, brackets removed.
    static func host(of url: String) throws(MCPError) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw MCPError(.invalidURL, "'\(url.prefix(200))' is not a valid URL")
        }
        guard scheme == "http" || scheme == "https" else {
            throw MCPError(.invalidURL, "the URL scheme '\(scheme)' is not allowed: use http or https")
        }
        guard var host = components.host, !host.isEmpty else {
            throw MCPError(.invalidURL, "the URL '\(url.prefix(200))' has no host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host
    }

    /// The addresses `host` resolves to (getaddrinfo on NIO's blocking-I/O thread pool).
    static func resolve(_ host: String) async throws(MCPError) -> [IPAddress] {
        let outcome: Result<[IPAddress], MCPError>
        do {
            outcome = try await NIOThreadPool.singleton.runIfActive { lookUp(host) }
        } catch {
            throw MCPError(.dnsFailure, "could not resolve '\(host)': \(error)")
        }
        return try outcome.get()
    }

    private static func lookUp(_ host: String) -> Result<[IPAddress], MCPError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let list else {
            let reason = String(cString: gai_strerror(status))
            return .failure(MCPError(.dnsFailure, "the host '\(host)' does not resolve: \(reason)"))
        }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let entry = cursor {
            if let socketAddress = entry.pointee.ai_addr {
                switch Int32(entry.pointee.ai_family) {
                case AF_INET:
                    socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        var address = pointer.pointee.sin_addr
                        addresses.append(IPAddress(bytes: withUnsafeBytes(of: &address) { Array($0) })!)
                    }
                case AF_INET6:
                    socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        var address = pointer.pointee.sin6_addr
                        addresses.append(IPAddress(bytes: withUnsafeBytes(of: &address) { Array($0) })!)
                    }
                default:
                    break
                }
            }
            cursor = entry.pointee.ai_next
        }
        var seen = Set<IPAddress>()
        return .success(addresses.filter { seen.insert($0).inserted })
    }
}
