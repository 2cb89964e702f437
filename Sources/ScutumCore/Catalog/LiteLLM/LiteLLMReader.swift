import Foundation
import Yams

/// Walks a LiteLLM YAML tree, collecting every key it has no use for and every value it cannot
/// take, so a refusal names all of them at once.
final class LiteLLMReader {
    /// Key paths with no equivalent (`litellm_settings.callbacks`), each with an optional reason.
    private(set) var unsupported: [String] = []
    /// Values that cannot be used, as `path: why`.
    private(set) var invalid: [String] = []
    /// What was accepted but changes nothing, or maps with a loss, for the start-up log.
    private(set) var notes: [String] = []

    /// Records a key path with no equivalent; `reason` says why, when it is not obvious.
    func refuse(_ path: String, _ reason: String? = nil) {
        unsupported.append(reason.map { "\(path) (\($0))" } ?? path)
    }

    /// Records a value that cannot be used.
    func reject(_ path: String, _ why: String) { invalid.append("\(path): \(why)") }

    /// Records a mapping that loses something, or a setting accepted without effect.
    func note(_ text: String) {
        if !notes.contains(text) { notes.append(text) }
    }

    /// The mapping `node` as a section at `path`; nil (and recorded) when it is not a mapping,
    /// nil for an absent or null node.
    func section(_ node: Node?, at path: String) -> LiteLLMSection? {
        guard let node, !node.isNull else { return nil }
        guard let mapping = node.mapping else {
            reject(path, "must be a mapping")
            return nil
        }
        return LiteLLMSection(mapping, path: path, reader: self)
    }

    /// Joins a parent path and a key.
    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// LiteLLM's `os.environ/NAME` as the catalog's `${NAME}`; other text as it is.
    static func environmentReference(_ text: String) -> String {
        let prefix = "os.environ/"
        guard text.hasPrefix(prefix) else { return text }
        return "${\(text.dropFirst(prefix.count))}"
    }
}

/// One mapping of a LiteLLM file. Reading a key marks it used; `finish()` refuses the rest.
final class LiteLLMSection {
    let path: String
    private let entries: [(key: String, value: Node)]
    private let reader: LiteLLMReader
    private var used: Set<String> = []

    init(_ mapping: Node.Mapping, path: String, reader: LiteLLMReader) {
        self.path = path
        self.reader = reader
        entries = mapping.map { (key: $0.key.string ?? "\($0.key)", value: $0.value) }
    }

    /// The keys, in the file's order.
    var keys: [String] { entries.map(\.key) }

    /// The path of `key` in this section.
    func path(_ key: String) -> String { LiteLLMReader.join(path, key) }

    /// The raw node under `key` (null counts as absent); marks the key used.
    func node(_ key: String) -> Node? {
        used.insert(key)
        guard let node = entries.first(where: { $0.key == key })?.value, !node.isNull else { return nil }
        return node
    }

    /// Marks `key` used without reading it (a setting with no effect here); notes `note` if given.
    func accept(_ key: String, note: String?) {
        guard entries.contains(where: { $0.key == key }) else { return }
        used.insert(key)
        if let note { reader.note("\(path(key)): \(note)") }
    }

    /// Marks every key used: the section is abandoned for a reason already recorded.
    func discard() { used.formUnion(keys) }

    /// The value under `key` as `parse` reads it; recorded as unusable (`expected` says why) when
    /// it reads nothing.
    private func value<T>(_ key: String, _ expected: String, _ parse: (Node) -> T?) -> T? {
        guard let node = node(key) else { return nil }
        guard let value = parse(node) else {
            reader.reject(path(key), expected)
            return nil
        }
        return value
    }

    /// A text value, `os.environ/NAME` turned into `${NAME}`.
    func string(_ key: String) -> String? {
        value(key, "must be text") { node in
            node.scalar == nil ? nil : node.string.map(LiteLLMReader.environmentReference)
        }
    }

    /// A whole number.
    func int(_ key: String) -> Int? { value(key, "must be a whole number") { $0.int } }

    /// A number.
    func double(_ key: String) -> Double? {
        value(key, "must be a number") { $0.float.flatMap { $0.isFinite ? $0 : nil } }
    }

    /// true or false.
    func bool(_ key: String) -> Bool? { value(key, "must be true or false") { $0.bool } }

    /// A nested mapping.
    func section(_ key: String) -> LiteLLMSection? { reader.section(node(key), at: path(key)) }

    /// A list of text values.
    func strings(_ key: String) -> [String]? {
        value(key, "must be a list of names") { node in
            guard let items = node.sequence?.map({ $0 }), items.allSatisfy({ $0.scalar != nil }) else { return nil }
            return items.compactMap(\.string)
        }
    }

    /// Refuses every key not read; call once the section is fully read.
    func finish() {
        for key in keys where !used.contains(key) { reader.refuse(path(key)) }
    }
}

extension Node {
    /// Whether this is YAML's null (`~`, `null`, or nothing after the colon).
    var isNull: Bool { null != nil }
}
