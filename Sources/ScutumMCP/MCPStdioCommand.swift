import Foundation

/// A stdio MCP server's launch line, checked before agentgateway is told to run it: the command
/// must be an executable (an absolute path, or a name found in `PATH`), the arguments and the
/// environment must be plain text without NUL bytes, and the environment must not change how
/// programs are loaded (`LD_PRELOAD` and the like).
///
/// The gateway does not start the server itself: agentgateway runs stdio servers, possibly in
/// another container, so this check only tells the operator about what is plainly wrong here.
public struct MCPStdioCommand: Sendable, Equatable {
    public var command: String
    public var args: [String]
    public var env: [String: String]

    /// Environment variables refused because they change how any program is loaded or run.
    static let forbiddenVariables: Set<String> = ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES",
        "DYLD_LIBRARY_PATH"]
    static let maximumArguments = 256
    static let maximumLength = 8192

    public init(command: String, args: [String] = [], env: [String: String] = [:]) {
        self.command = command
        self.args = args
        self.env = env
    }

    /// Problems with the arguments and environment, one message each (empty when fine).
    public func problems() -> [String] {
        var problems: [String] = []
        let trimmed = command.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { problems.append("the command is empty") }
        if trimmed != command || command.contains("\0") || command.contains("\n") {
            problems.append("the command must be one program name or path, without surrounding spaces or control characters")
        }
        if args.count > Self.maximumArguments { problems.append("at most \(Self.maximumArguments) arguments are allowed") }
        for (index, argument) in args.enumerated() where argument.contains("\0") || argument.utf8.count > Self.maximumLength {
            problems.append("argument \(index) contains a NUL byte or is longer than \(Self.maximumLength) bytes")
        }
        for name in env.keys.sorted() {
            if name.isEmpty || name.first!.isNumber
                || !name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) })
            {
                problems.append("environment variable name '\(name.prefix(100))' must be letters, digits and underscores")
            } else if Self.forbiddenVariables.contains(name.uppercased()) || name.uppercased().hasPrefix("DYLD_") {
                problems.append("environment variable \(name) is not allowed: it changes how programs are loaded")
            }
            if let value = env[name], value.contains("\0") || value.utf8.count > Self.maximumLength {
                problems.append("the value of \(name) contains a NUL byte or is longer than \(Self.maximumLength) bytes")
            }
        }
        return problems
    }

    /// The absolute path of the executable, looked up in `searchPath` (a `PATH` value) for a bare
    /// name; throws `MCPError` of kind `command` with what is wrong.
    public func resolveExecutable(searchPath: String? = ProcessInfo.processInfo.environment["PATH"])
        throws(MCPError) -> String
    {
        if let problem = problems().first { throw MCPError(.command, problem) }
        let files = FileManager.default
        if command.hasPrefix("/") {
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: command, isDirectory: &isDirectory) else {
                throw MCPError(.command, "the command '\(command)' does not exist on this node")
            }
            guard !isDirectory.boolValue, files.isExecutableFile(atPath: command) else {
                throw MCPError(.command, "'\(command)' is not an executable file")
            }
            return command
        }
        if command.contains("/") {
            throw MCPError(.command,
                "the command '\(command)' is a relative path; give an absolute path or a program name found in PATH")
        }
        let directories = (searchPath ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        for directory in directories {
            let candidate = directory.hasSuffix("/") ? directory + command : directory + "/" + command
            var isDirectory: ObjCBool = false
            if files.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                files.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
        }
        throw MCPError(.command, "the command '\(command)' was not found in PATH on this node "
            + "(searched \(directories.count) directories); install it or give an absolute path")
    }
}
