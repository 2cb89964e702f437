import ScutumCore

/// Prompt and data templates of workflow nodes: text with `{{reference}}` placeholders, the
/// references of `WorkflowContext` (`{{input.question}}`, `{{steps.plan.output}}`, `{{last}}`).
///
/// Rendering is lenient, as in Jinja: a reference that names nothing (a node that has not run
/// yet, a missing field) renders as the empty string, so a loop's first pass can mention the
/// feedback of a review that has not happened. References to nodes that do not exist at all are
/// caught earlier, when the graph is saved (`WorkflowGraph` checks every template).
/// Strings render as they are, null as nothing, other values as compact JSON. Text without a
/// closing `}}` is left as it is.
public enum WorkflowTemplate {
    /// `template` with every `{{reference}}` replaced by the text of its value.
    public static func render(_ template: String, context: WorkflowContext) -> String {
        var output = ""
        for piece in pieces(template) {
            switch piece {
            case .text(let text): output += text
            case .reference(let reference): output += context.resolve(reference)?.templateText ?? ""
            }
        }
        return output
    }

    /// A JSON template rendered recursively: every string is rendered, except that a string that is
    /// exactly one `{{reference}}` becomes the referenced value itself (null when it names nothing),
    /// so `{"rows": "{{input.rows}}"}` keeps `rows` an array.
    public static func render(json template: JSONValue, context: WorkflowContext) -> JSONValue {
        switch template {
        case .string(let text):
            if let reference = soleReference(text) { return context.resolve(reference) ?? .null }
            return .string(render(text, context: context))
        case .array(let items):
            return .array(items.map { render(json: $0, context: context) })
        case .object(let fields):
            return .object(fields.mapValues { render(json: $0, context: context) })
        default:
            return template
        }
    }

    /// The references in `template`, in order, as written (trimmed).
    public static func references(in template: String) -> [String] {
        pieces(template).compactMap { piece in
            if case .reference(let reference) = piece { return reference }
            return nil
        }
    }

    /// The references in every string of a JSON template.
    public static func references(in template: JSONValue) -> [String] {
        switch template {
        case .string(let text): references(in: text)
        case .array(let items): items.flatMap { references(in: $0) }
        case .object(let fields): fields.keys.sorted().flatMap { references(in: fields[$0] ?? .null) }
        default: []
        }
    }

    /// The reference when `text` is `{{reference}}` and nothing else (surrounding spaces allowed).
    static func soleReference(_ text: String) -> String? {
        let parts = pieces(text.trimmingCharacters(in: .whitespacesAndNewlines))
        guard parts.count == 1, case .reference(let reference) = parts[0] else { return nil }
        return reference
    }

    enum Piece: Equatable {
        case text(String)
        case reference(String)
    }

    static func pieces(_ template: String) -> [Piece] {
        var pieces: [Piece] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            if open.lowerBound > rest.startIndex { pieces.append(.text(String(rest[..<open.lowerBound]))) }
            pieces.append(.reference(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.text(String(rest))) }
        return pieces
    }
}
