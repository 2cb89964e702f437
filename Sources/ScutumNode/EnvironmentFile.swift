import Foundation

/// Reads `KEY=VALUE` files such as `config/.env`: `#` comments, blank lines, an optional
/// `export ` prefix, and values optionally wrapped in single or double quotes.
public enum EnvironmentFile {
    /// A line that is not `KEY=VALUE`.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses the file's text.
    public static func parse(_ text: String, path: String = ".env") throws -> [String: String] {
        var values: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else {
                throw Invalid(description: "\(path):\(number + 1): expected KEY=VALUE")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw Invalid(description: "\(path):\(number + 1): '\(key)' is not a variable name")
            }
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            } else if let comment = value.range(of: " #") {
                value = value[..<comment.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            values[key] = value
        }
        return values
    }

    /// The file's values if it exists, else nothing.
    public static func load(path: String) throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Invalid(description: "\(path): cannot be read")
        }
        defer { try? handle.close() }
        let data = try handle.readToEnd() ?? Data()
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }
}
