import Crypto
import Foundation
import NIOCore
import _NIOFileSystem

/// One static file of the admin console, held in memory.
public struct ConsoleAsset: Sendable {
    /// The file's bytes.
    public var body: ByteBuffer
    /// Its media type, from the file name's extension.
    public var contentType: String
    /// A strong validator of the bytes (`"<hex of SHA-256 prefix>"`), for `If-None-Match`.
    public var etag: String

    public init(body: ByteBuffer, contentType: String) {
        self.body = body
        self.contentType = contentType
        let digest = SHA256.hash(data: Array(body.readableBytesView))
        self.etag = "\"" + digest.prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
    }
}

/// The admin console's static files (HTML, CSS, ES modules, images), read once at start-up and served
/// from memory, keyed by their URL path (`/index.html`, `/js/api.js`, ...).
///
/// Only regular files with a known extension are kept, so the set of servable paths is fixed when
/// the console starts: a request for anything else (`/../Package.swift`, `/js/../../x`) is a 404.
public struct ConsoleAssets: Sendable {
    /// The files by URL path, each starting with `/`.
    public let files: [String: ConsoleAsset]

    public init(files: [String: ConsoleAsset]) {
        self.files = files
    }

    /// The file served for a URL path (`/` is `/index.html`); nil for anything not in the set.
    public func asset(for path: String) -> ConsoleAsset? {
        files[path == "/" ? "/index.html" : path]
    }

    /// Media types by file extension; files with other extensions are not served.
    static let contentTypes: [String: String] = [
        "html": "text/html; charset=utf-8",
        "js": "text/javascript; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml",
        "png": "image/png",
        "ico": "image/x-icon",
        "json": "application/json",
        "txt": "text/plain; charset=utf-8",
    ]

    /// The largest file the console will hold in memory.
    static let maximumFileSize: ByteCount = .mebibytes(4)

    /// Reads every servable file under `directory` (recursively) without blocking an event loop.
    public static func load(from directory: String) async throws -> ConsoleAssets {
        let root = FilePath(directory)
        var files: [String: ConsoleAsset] = [:]
        let entries = try await FileSystem.shared.withDirectoryHandle(atPath: root) { handle in
            var found: [DirectoryEntry] = []
            for try await entry in handle.listContents(recursive: true) where entry.type == .regular {
                found.append(entry)
            }
            return found
        }
        for entry in entries {
            guard let ext = entry.path.extension?.lowercased(), let contentType = contentTypes[ext],
                !entry.name.string.hasPrefix(".")
            else { continue }
            var relative = entry.path
            guard relative.removePrefix(root) else { continue }
            let body = try await FileSystem.shared.withFileHandle(forReadingAt: entry.path) { handle in
                try await handle.readToEnd(maximumSizeAllowed: maximumFileSize)
            }
            files["/" + relative.components.map(\.string).joined(separator: "/")] =
                ConsoleAsset(body: body, contentType: contentType)
        }
        return ConsoleAssets(files: files)
    }

    /// The console shipped with the binary: `SCUTUM_CONSOLE_DIR` when set, else the `Console` folder of
    /// this module's resource bundle (`Scutum_ScutumAdmin.resources`) next to the executable, where
    /// `swift build` puts it and the Dockerfile copies it. Looked up by hand rather than through
    /// `Bundle.module`, which stops the process when the bundle is missing: a node without its
    /// console files still serves the proxy and the Admin API.
    public static func bundled(environment: [String: String] = ProcessInfo.processInfo.environment) async throws
        -> ConsoleAssets
    {
        for directory in candidateDirectories(environment: environment) {
            guard (try? await FileSystem.shared.info(forFileAt: FilePath(directory)))?.type == .directory else { continue }
            let assets = try await load(from: directory)
            guard assets.files["/index.html"] != nil else { continue }
            return assets
        }
        throw ConsoleAssetsMissing()
    }

    /// Where the console's files may be, in order.
    static func candidateDirectories(environment: [String: String]) -> [String] {
        if let configured = environment["SCUTUM_CONSOLE_DIR"], !configured.isEmpty { return [configured] }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let folders = [Bundle.main.bundleURL, executable.deletingLastPathComponent()]
        return folders.map { $0.appendingPathComponent(bundleName).appendingPathComponent("Console").path }
    }

    static let bundleName = "Scutum_ScutumAdmin.resources"
}

/// The console's files are not where the resource bundle should hold them.
public struct ConsoleAssetsMissing: Error, CustomStringConvertible {
    public var description: String {
        "the admin console's files (Scutum_ScutumAdmin.resources/Console next to the executable, or SCUTUM_CONSOLE_DIR) are missing"
    }
}
