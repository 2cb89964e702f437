import Foundation
import Logging
import Synchronization

/// Writes each log record as one JSON object per line on standard output (`SCUTUM_LOG_FORMAT=json`),
/// for log collectors: `{"ts","level","label","message","source", ...metadata}`, metadata values as
/// strings (nested ones as JSON). Like swift-log's stream handler, it writes synchronously under a lock.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let sink: @Sendable ([UInt8]) -> Void

    /// `sink` takes each line (newline included); standard output by default.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil,
        sink: @escaping @Sendable ([UInt8]) -> Void = JSONLogHandler.standardOutput)
    {
        self.label = label
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    /// Writes a line to standard output in one `write`, lines from concurrent loggers never interleaved.
    public static let standardOutput: @Sendable ([UInt8]) -> Void = { line in
        output.withLock { _ in line.withUnsafeBytes { bytes in _ = write(STDOUT_FILENO, bytes.baseAddress, bytes.count) } }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: Any] = [
            "ts": Self.timestamp(), "level": event.level.rawValue, "label": label,
            "message": event.message.description, "source": event.source,
        ]
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged where fields[key] == nil { fields[key] = Self.json(value) }
        guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        sink(Array(data) + [0x0A])
    }

    private static let output = Mutex(())

    static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let convertible): return convertible.description
        case .array(let items): return items.map(json)
        case .dictionary(let fields): return fields.mapValues(json)
        }
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true)
            .timeSeparator(.colon).timeZone(separator: .omitted))
    }
}
