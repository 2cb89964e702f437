import NIOCore
import Synchronization

/// A request's JSON object: either the caller's scanned bytes, whose tree is built on first read
/// and kept, or a tree (a parsed or rewritten body). Shared by the copies of a request.
final class RequestJSONBody: Sendable {
    /// The caller's bytes; nil once the body is a tree of its own.
    let document: JSONDocument?
    private let built: Mutex<[String: JSONValue]?>

    init(document: JSONDocument) {
        self.document = document
        self.built = Mutex(nil)
    }

    init(tree: [String: JSONValue]) {
        self.document = nil
        self.built = Mutex(tree)
    }

    /// The object as a tree.
    var tree: [String: JSONValue] {
        built.withLock { built in
            if let built { return built }
            let tree = document?.value(JSONDocument.root).objectValue ?? [:]
            built = tree
            return tree
        }
    }

    /// The top-level members whose values are not objects or arrays, without building the tree
    /// of the others (what tracing reads: `temperature`, `max_tokens`, `stream`, ...).
    var scalars: [String: JSONValue] {
        guard let document else { return tree.filter { $0.value.kind != .object && $0.value.kind != .array } }
        var fields: [String: JSONValue] = [:]
        for member in document.children(of: JSONDocument.root)
        where document.entries[member].kind != .object && document.entries[member].kind != .array {
            fields[document.key(of: member)] = document.value(member)
        }
        return fields
    }
}

extension JSONDocument {
    /// The object's bytes with its top-level `model` string replaced by `name` and, when
    /// `forcingUsage`, `stream_options.include_usage` set to true; everything else byte for byte.
    /// Nil when the document is not shaped for splicing (the caller then writes a tree).
    public func replacingModel(with name: String, forcingUsage: Bool) -> ByteBuffer? {
        guard kind == .object, let model = member("model"), entries[model].kind == .string else { return nil }
        var quoted = ByteBuffer()
        quoted.writeJSONQuoted(name)
        var edits: [(range: Range<Int>, replacement: ByteBuffer)] = [(range(of: model), quoted)]
        if forcingUsage {
            guard let usage = includeUsageEdit() else { return nil }
            if let usage = usage { edits.append(usage) }
            edits.sort { $0.range.lowerBound < $1.range.lowerBound }
        }
        return splicing(edits)
    }

    /// The edit that makes `stream_options.include_usage` true: `.some(nil)` when it already is,
    /// nil when `stream_options` is of a shape not spliced.
    private func includeUsageEdit() -> (range: Range<Int>, replacement: ByteBuffer)?? {
        let rootStart = range(of: Self.root).lowerBound
        guard let options = member("stream_options") else {
            let insertion = ByteBuffer(staticString: #""stream_options":{"include_usage":true},"#)
            return .some((rootStart + 1..<rootStart + 1, insertion))
        }
        switch entries[options].kind {
        case .null:
            return .some((range(of: options), ByteBuffer(staticString: #"{"include_usage":true}"#)))
        case .object where entries[options].childrenIndexed:
            guard let include = member("include_usage", of: options) else {
                let start = range(of: options).lowerBound + 1
                let insertion = entries[options].childCount == 0
                    ? ByteBuffer(staticString: #""include_usage":true"#)
                    : ByteBuffer(staticString: #""include_usage":true,"#)
                return .some((start..<start, insertion))
            }
            if case .bool(true) = value(include) { return .some(nil) }
            return .some((range(of: include), ByteBuffer(staticString: "true")))
        default:
            return nil
        }
    }
}
