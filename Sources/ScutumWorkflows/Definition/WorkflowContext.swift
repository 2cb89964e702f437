import Foundation
import ScutumCore

/// What a workflow step can see: the execution's input, the output of every node that finished
/// (the latest run of each, for nodes a loop ran more than once), and the previous step's output.
///
/// Templates and conditions name values in it by dotted references:
///
/// - `input`, `input.field`, `input.items.0` - the execution's `input_data`
/// - `steps.<node>.output`, `steps.<node>.output.field` - a finished node's output
/// - `last`, `last.field` - the output of the step that ran just before
///
/// A segment after the root walks into objects by key and into arrays by index. A string that
/// holds JSON (what a model answered when asked for JSON) is parsed when a segment has to walk
/// into it, so `steps.classify.output.category` works on `"{\"category\": \"code\"}"`.
public struct WorkflowContext: Sendable, Equatable {
    public var input: JSONValue
    /// Outputs by node name.
    public var outputs: [String: JSONValue]
    /// The output of the step that finished last; nil before the first step.
    public var last: JSONValue?

    public init(input: JSONValue, outputs: [String: JSONValue] = [:], last: JSONValue? = nil) {
        self.input = input
        self.outputs = outputs
        self.last = last
    }

    /// Records that `node` finished with `output`: it becomes `steps.<node>.output` and `last`.
    public mutating func record(node: String, output: JSONValue) {
        outputs[node] = output
        last = output
    }

    /// The value `reference` names, or nil when it names nothing (an unknown root, a node that
    /// has not run yet, a missing field).
    public func resolve(_ reference: String) -> JSONValue? {
        guard let parsed = WorkflowReference(reference) else { return nil }
        var value: JSONValue
        switch parsed.root {
        case .input: value = input
        case .last:
            guard let last else { return nil }
            value = last
        case .step(let node):
            guard let output = outputs[node] else { return nil }
            value = output
        }
        for segment in parsed.fields {
            guard let next = Self.child(of: value, segment) else { return nil }
            value = next
        }
        return value
    }

    private static func child(of value: JSONValue, _ segment: String) -> JSONValue? {
        switch value {
        case .object(let fields): return fields[segment]
        case .array(let items):
            guard let index = Int(segment), items.indices.contains(index) else { return nil }
            return items[index]
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard trimmed.hasPrefix("{") || trimmed.hasPrefix("["),
                let parsed = try? JSONParser.parse(Array(trimmed.utf8)), !parsed.isString
            else { return nil }
            return child(of: parsed, segment)
        default: return nil
        }
    }
}

/// A parsed dotted reference: `input.a`, `last`, `steps.<node>.output.b`.
public struct WorkflowReference: Sendable, Equatable {
    public enum Root: Sendable, Equatable {
        case input
        case last
        case step(String)
    }

    public var root: Root
    /// The field names and indexes after the root.
    public var fields: [String]

    /// Nil unless `text` has one of the documented forms (`steps.<node>` must be followed by `output`).
    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ".", omittingEmptySubsequences: false)
            .map(String.init)
        guard let first = parts.first, !parts.contains(where: \.isEmpty) else { return nil }
        switch first {
        case "input":
            root = .input
            fields = Array(parts.dropFirst())
        case "last":
            root = .last
            fields = Array(parts.dropFirst())
        case "steps":
            guard parts.count >= 3, parts[2] == "output" else { return nil }
            root = .step(parts[1])
            fields = Array(parts.dropFirst(3))
        default:
            return nil
        }
    }

    /// The node a `steps.<node>.output` reference names.
    public var node: String? {
        if case .step(let node) = root { return node }
        return nil
    }

    /// The forms a reference can take, for error messages.
    public static let forms = "input, input.<field>, last, last.<field>, steps.<node>.output or steps.<node>.output.<field>"
}

extension JSONValue {
    var isString: Bool { stringValue != nil }

    /// The value as template text: strings as they are, null as nothing, anything else as compact JSON.
    public var templateText: String {
        switch self {
        case .null: ""
        case .string(let text): text
        default: jsonString
        }
    }
}
