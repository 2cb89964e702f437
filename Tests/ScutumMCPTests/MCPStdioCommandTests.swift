import Testing

@testable import ScutumMCP

@Suite("stdio server commands")
struct MCPStdioCommandTests {
    @Test("a program name is found in PATH, an absolute path must be an executable file")
    func resolves() throws {
        #expect(try MCPStdioCommand(command: "sh").resolveExecutable(searchPath: "/nonexistent:/bin:/usr/bin") == "/bin/sh")
        #expect(try MCPStdioCommand(command: "/bin/sh").resolveExecutable() == "/bin/sh")
    }

    @Test("what cannot run says why", arguments: [
        ("no-such-program-xyz", "was not found in PATH"),
        ("/no/such/program", "does not exist"),
        ("/etc/passwd", "is not an executable file"),
        ("/bin", "is not an executable file"),
        ("./relative", "relative path"),
        ("", "the command is empty"),
    ])
    func refuses(command: String, message: String) {
        do throws(MCPError) {
            _ = try MCPStdioCommand(command: command).resolveExecutable(searchPath: "/bin:/usr/bin")
            Issue.record("\(command) resolved")
        } catch {
            #expect(error.kind == .command)
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test("arguments and environment are checked")
    func problems() {
        #expect(MCPStdioCommand(command: "npx", args: ["-y", "server"], env: ["API_KEY": "x", "_UNDER": "y"]).problems().isEmpty)
        let bad = MCPStdioCommand(command: "npx", args: ["a\0b"], env: ["LD_PRELOAD": "/x.so", "1BAD": "v", "BAD-NAME": "v"])
        let problems = bad.problems()
        #expect(problems.count == 4, "\(problems)")
        #expect(problems.contains { $0.contains("LD_PRELOAD") })
    }
}
