/// A JSON value read as far as request validation needs, so one set of checks serves both a
/// parsed tree (`JSONValue`) and a value of scanned bytes (`ScannedValue`), which reads only the
/// small values it is asked for.
protocol JSONView {
    var kind: JSONKind { get }
    /// The member `key` of an object; nil when absent or when this is not an object.
    func member(_ key: String) -> Self?
    /// The elements of an array; empty for other kinds.
    var elements: [Self] { get }
    var stringValue: String? { get }
    /// The value as a tree.
    var tree: JSONValue { get }
}

extension JSONView {
    var isNull: Bool { kind == .null }
    var typeName: String { kind.typeName }
    /// Present and not null.
    func given(_ key: String) -> Self? {
        member(key).flatMap { $0.isNull ? nil : $0 }
    }
}

extension JSONValue: JSONView {
    var kind: JSONKind {
        switch self {
        case .null: .null
        case .bool: .bool
        case .int, .double: .number
        case .string: .string
        case .array: .array
        case .object: .object
        }
    }

    func member(_ key: String) -> JSONValue? { self[key] }
    var elements: [JSONValue] { arrayValue ?? [] }
    var tree: JSONValue { self }
}

/// One value of a scanned document.
struct ScannedValue: JSONView {
    let document: JSONDocument
    let entry: Int

    static func root(of document: JSONDocument) -> ScannedValue {
        ScannedValue(document: document, entry: JSONDocument.root)
    }

    var kind: JSONKind { document.entries[entry].kind }

    /// This value in a document whose index reaches its children.
    private var indexed: ScannedValue {
        document.entries[entry].childrenIndexed ? self : .root(of: document.subdocument(entry))
    }

    func member(_ key: String) -> ScannedValue? {
        guard kind == .object else { return nil }
        let container = indexed
        return container.document.member(key, of: container.entry).map { ScannedValue(document: container.document, entry: $0) }
    }

    var elements: [ScannedValue] {
        guard kind == .array else { return [] }
        let container = indexed
        return container.document.children(of: container.entry).map { ScannedValue(document: container.document, entry: $0) }
    }

    var stringValue: String? { document.string(entry) }
    var tree: JSONValue { document.value(entry) }
}
