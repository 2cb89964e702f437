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

    /// The console bundled with this module (`Sources/ScutumAdmin/Console`, a SwiftPM resource).
    public static func bundled() async throws -> ConsoleAssets {
        guard let url = Bundle.module.url(forResource: "Console", withExtension: nil) else {
            throw ConsoleAssetsMissing()
        }
        let assets = try await load(from: url.path)
        guard assets.files["/index.html"] != nil else { throw ConsoleAssetsMissing() }
        return assets
    }
}

/// The console's files are not where the resource bundle should hold them.
public struct ConsoleAssetsMissing: Error, CustomStringConvertible {
    public var description: String {
        "the admin console's files (Scutum_ScutumAdmin.resources/Console) are missing next to the executable"
    }
}
