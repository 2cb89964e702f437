import Crypto
import Foundation
import NIOPosix
import ScutumCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a deploy wrote.
public struct AgentGatewayDeployment: Sendable, Equatable {
    public var path: String
    public var bytes: Int
    /// Hex SHA-256 of the file's contents.
    public var sha256: String

    public var json: JSONValue {
        ["path": .string(path), "bytes": .int(Int64(bytes)), "sha256": .string(sha256)]
    }
}

/// Why a deploy failed.
public struct AgentGatewayDeployError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Writes agentgateway's configuration file atomically: the YAML goes to a temporary file in the
/// same directory, is flushed to disk, and is renamed over the target, so agentgateway's file
/// watcher never reads half a file. The file I/O runs on NIO's blocking-I/O thread pool.
///
/// Kubernetes ConfigMaps are not patched: mount the directory on a shared volume (or run the
/// gateway leader beside agentgateway) and point `path` at it.
public struct AgentGatewayDeployer: Sendable {
    public var path: String
    /// Permissions of the written file (it holds stdio servers' environment values): 0640.
    public var permissions: mode_t

    public init(path: String, permissions: mode_t = 0o640) {
        self.path = path
        self.permissions = permissions
    }

    /// Writes `yaml` to `path` and reports what was written.
    public func deploy(_ yaml: String) async throws(AgentGatewayDeployError) -> AgentGatewayDeployment {
        let bytes = Array(yaml.utf8)
        let path = self.path
        let permissions = self.permissions
        let outcome: Result<Void, AgentGatewayDeployError>
        do {
            outcome = try await NIOThreadPool.singleton.runIfActive {
                Self.writeAtomically(bytes, to: path, permissions: permissions)
            }
        } catch {
            throw AgentGatewayDeployError(message: "could not write \(path): \(error)")
        }
        try outcome.get()
        let digest = SHA256.hash(data: bytes)
        return AgentGatewayDeployment(path: path, bytes: bytes.count,
            sha256: Hex.lowercase(digest))
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String, permissions: mode_t)
        -> Result<Void, AgentGatewayDeployError>
    {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\(name).\(UUID().wire).tmp"
        func failure(_ step: String) -> Result<Void, AgentGatewayDeployError> {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            return .failure(AgentGatewayDeployError(message: "could not \(step) for \(path): \(reason)"))
        }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard descriptor >= 0 else { return failure("create a temporary file") }
        // Exactly `permissions`, whatever the umask.
        _ = fchmod(descriptor, permissions)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw in write(descriptor, raw.baseAddress! + written, bytes.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                close(descriptor)
                return failure("write the temporary file")
            }
            written += count
        }
        guard fsync(descriptor) == 0 else {
            close(descriptor)
            return failure("flush the temporary file")
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else { return failure("rename the temporary file into place") }
        return .success(())
    }
}
