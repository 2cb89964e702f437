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
