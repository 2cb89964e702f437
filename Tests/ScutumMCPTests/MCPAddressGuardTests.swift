import Testing

@testable import ScutumMCP

@Suite("SSRF guard for MCP server URLs")
struct MCPAddressGuardTests {
    @Test("each class of internal address is recognised, IPv4-mapped IPv6 included",
        arguments: [
            ("127.0.0.1", MCPAddressGuard.AddressClass.loopback), ("127.255.0.9", .loopback), ("::1", .loopback),
            ("::ffff:127.0.0.1", .loopback),
            ("10.1.2.3", .privateNetwork), ("172.16.0.1", .privateNetwork), ("172.31.255.254", .privateNetwork),
            ("192.168.1.1", .privateNetwork), ("100.64.0.1", .privateNetwork), ("fd12:3456::1", .privateNetwork),
            ("::ffff:10.0.0.1", .privateNetwork),
            ("169.254.1.1", .linkLocal), ("fe80::1", .linkLocal),
            ("0.0.0.0", .unspecified), ("::", .unspecified),
            ("169.254.169.254", .metadata), ("fd00:ec2::254", .metadata), ("100.100.100.200", .metadata),
            ("224.0.0.1", .multicast), ("ff02::1", .multicast), ("255.255.255.255", .reserved),
        ])
    func internalAddresses(address: String, expected: MCPAddressGuard.AddressClass) throws {
        #expect(MCPAddressGuard.classify(try #require(IPAddress(address))) == expected)
    }

    @Test("public addresses pass", arguments: ["8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1", "2606:4700::1111",
        "93.184.216.34"])
    func publicAddresses(address: String) throws {
        #expect(MCPAddressGuard.classify(try #require(IPAddress(address))) == nil)
    }

    @Test("CIDR blocks contain what they should")
    func networks() throws {
        let block = try #require(IPNetwork("10.20.0.0/16"))
        #expect(block.contains(try #require(IPAddress("10.20.255.1"))))
        #expect(!block.contains(try #require(IPAddress("10.21.0.1"))))
        #expect(block.contains(try #require(IPAddress("::ffff:10.20.0.5"))))
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("not-an-ip") == nil)
        #expect(try #require(IPNetwork("fe80::/10")).contains(try #require(IPAddress("febf::1"))))
    }

    @Test("literal internal addresses and names that resolve to them are refused with what to do about it")
    func refused() async throws {
        let guardrail = MCPAddressGuard()
        for url in ["http://127.0.0.1:8080/mcp", "http://[::1]/mcp", "http://169.254.169.254/latest", "https://10.0.0.8/sse",
            "http://localhost:3000/mcp"]
        {
            do throws(MCPError) {
                try await guardrail.check(url: url)
                Issue.record("\(url) passed")
            } catch {
                #expect(error.kind == .addressRefused, "\(url): \(error)")
                #expect(error.message.contains("mcp_allowed_hosts"), "\(url): \(error)")
            }
        }
        do throws(MCPError) {
            try await guardrail.check(url: "http://localhost:3000/mcp")
        } catch {
            #expect(error.message.contains("loopback") && error.message.contains("'localhost'"), "\(error)")
        }
        do throws(MCPError) {
            try await guardrail.check(url: "http://169.254.169.254/")
        } catch {
            #expect(error.message.contains("cloud metadata"), "\(error)")
        }
    }

    @Test("only http and https, with a host")
    func schemes() async throws {
        for url in ["ftp://example.com/mcp", "file:///etc/passwd", "gopher://x", "http:///nohost", "not a url"] {
            do throws(MCPError) {
                try await MCPAddressGuard().check(url: url)
                Issue.record("\(url) passed")
            } catch {
                #expect(error.kind == .invalidURL, "\(url): \(error)")
            }
        }
    }

    @Test("the allow-list takes host names (with *.wildcards), addresses and CIDR blocks")
    func allowList() async throws {
        let guardrail = MCPAddressGuard(allowList: ["localhost", "127.0.0.0/8", "fd00::/8", "10.1.2.3", "*.corp.example", " "])
        try await guardrail.check(url: "http://localhost:3000/mcp")
        try await guardrail.check(url: "http://127.0.0.1:8080/mcp")
        try await guardrail.check(url: "http://[fd00::5]/mcp")
        try await guardrail.check(url: "http://10.1.2.3/mcp")
        #expect(guardrail.allows(host: "tools.corp.example"))
        #expect(guardrail.allows(host: "LOCALHOST."))
        #expect(!guardrail.allows(host: "corp.example.evil"))
        do throws(MCPError) {
            try await guardrail.check(url: "http://10.1.2.4/mcp")
            Issue.record("10.1.2.4 passed")
        } catch {
            #expect(error.kind == .addressRefused)
        }
        try await MCPAddressGuard().check(url: "https://93.184.216.34/mcp")
    }

    @Test("a host that does not resolve is a DNS error")
    func unresolvable() async throws {
        do throws(MCPError) {
            try await MCPAddressGuard().check(url: "http://no-such-host.invalid/mcp")
            Issue.record("resolved")
        } catch {
            #expect(error.kind == .dnsFailure, "\(error)")
        }
    }
}
