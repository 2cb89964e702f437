import ScutumAdmin
import ScutumNode
import Testing

/// `SCUTUM_CONSOLE_PORT`: where a node serves the admin console, and when it serves none.
@Suite("Console configuration")
struct ConsoleConfigurationTests {
    static let required = ["DATABASE_URL": "postgres://scutum@127.0.0.1/scutum", "SCUTUM_HOST": "127.0.0.1"]

    static func configuration(_ variables: [String: String]) throws -> NodeConfiguration {
        try NodeConfiguration(variables: required.merging(variables) { _, new in new })
    }

    @Test("5173 by default, on the Admin API's host")
    func defaultPort() throws {
        let console = try #require(try Self.configuration([:]).console)
        #expect(console.port == 5173)
        #expect(console.host == "127.0.0.1")
        #expect(try Self.configuration(["SCUTUM_CONSOLE_PORT": "24602"]).console?.port == 24602)
    }

    @Test("0 turns it off, and so does turning the Admin API off")
    func disabled() throws {
        #expect(try Self.configuration(["SCUTUM_CONSOLE_PORT": "0"]).console == nil)
        #expect(try Self.configuration(["SCUTUM_ADMIN_ENABLED": "false"]).console == nil)
    }

    @Test("a port outside 0...65535 or not a number is refused at start-up")
    func invalid() {
        for value in ["70000", "-1", "console"] {
            #expect(throws: NodeConfiguration.Invalid.self) { try Self.configuration(["SCUTUM_CONSOLE_PORT": value]) }
        }
    }
}

/// `SCUTUM_TRACING` and the OTLP settings it depends on, checked before anything starts.
@Suite("Tracing configuration")
struct TracingConfigurationTests {
    @Test("off by default; otlp turns it on; an OTLP protocol this build cannot speak is refused, not a crash")
    func tracing() throws {
        #expect(try ConsoleConfigurationTests.configuration([:]).tracing == false)
        let on = try ConsoleConfigurationTests.configuration(["SCUTUM_TRACING": "otlp"])
        #expect(on.tracing && on.proxy.tracing)
        #expect(try ConsoleConfigurationTests.configuration(
            ["SCUTUM_TRACING": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"]).tracing)
        for (name, value) in [("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "GRPC")] {
            #expect(throws: NodeConfiguration.Invalid.self) {
                try ConsoleConfigurationTests.configuration(["SCUTUM_TRACING": "otlp", name: value])
            }
        }
        // Tracing off: the OTLP settings are not read at all.
        #expect(try ConsoleConfigurationTests.configuration(["OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"]).tracing == false)
        #expect(throws: NodeConfiguration.Invalid.self) { try ConsoleConfigurationTests.configuration(["SCUTUM_TRACING": "on"]) }
    }
}

/// `SCUTUM_MASTER_KEY_LOGIN`: whether the master key signs in to the Admin API and console.
@Suite("Master-key sign-in configuration")
struct MasterKeyLoginConfigurationTests {
    @Test("on by default; true/false, 1/0 and yes/no in any case; anything else refused at start-up, naming it")
    func parsing() throws {
        #expect(try ConsoleConfigurationTests.configuration([:]).masterKeyLogin)
        for (value, expected) in [("false", false), ("FALSE", false), ("0", false), ("no", false), ("true", true),
            ("1", true), ("Yes", true)]
        {
            #expect(try ConsoleConfigurationTests.configuration(["SCUTUM_MASTER_KEY_LOGIN": value]).masterKeyLogin
                == expected, "\(value)")
        }
        let error = #expect(throws: NodeConfiguration.Invalid.self) {
            try ConsoleConfigurationTests.configuration(["SCUTUM_MASTER_KEY_LOGIN": "off-ish"])
        }
        #expect(error?.description == "SCUTUM_MASTER_KEY_LOGIN=off-ish must be true or false")
    }
}
