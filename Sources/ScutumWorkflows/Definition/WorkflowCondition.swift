import Foundation
import ScutumCore

/// The condition on a workflow edge: when it holds, the edge may be taken.
///
/// The JSON form is an object with a `path` (a `WorkflowContext` reference) and one operator:
///
/// | operator | holds when the value at `path` |
/// |---|---|
/// | `equals`, `not_equals` | equals the operand (strings ignore surrounding whitespace; numbers compare by value) |
/// | `contains`, `not_contains` | is a string containing the operand text (case-insensitive), an array holding it, or an object with that key |
/// | `matches` | is a string matching the operand regular expression (anywhere in it; `(?i)` for case-insensitive) |
/// | `gt`, `gte`, `lt`, `lte` | is a number (or a string holding one) compared with the operand number |
/// | `in` | equals one of the operand list's items |
/// | `exists` | is present and not null (`"exists": false`: is absent or null) |
///
/// `matches` runs `SafeRegex` with `Options.conditions`: linear time in the text whatever the pattern, so
/// a step's output cannot stall the runner; patterns it does not support (backreferences, lookaround,
/// nested quantifiers such as `(a+)+`, patterns matching the empty string...) are refused when the
/// workflow is saved.
///
/// and the combinations `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`, `{"always": true}`.
/// A value that is missing satisfies only `not_equals`, `not_contains` and `"exists": false`.
///
/// The string form is `"<path> <operator> <operand>"`, for example `"steps.review.output contains 'REVISE'"`,
/// `"input.count >= 3"` or `"steps.plan.output exists"`; operators are the names above or `==`, `!=`,
/// `>`, `>=`, `<`, `<=`; the operand is a quoted string, a number, `true`, `false`, `null` or one bare word.
public indirect enum WorkflowCondition: Sendable, Equatable {
    case always(Bool)
    case compare(path: String, Operator, JSONValue)
    case exists(path: String, Bool)
    case all([WorkflowCondition])
    case any([WorkflowCondition])
    case not(WorkflowCondition)

    public enum Operator: String, Sendable, CaseIterable {
        case equals
        case notEquals = "not_equals"
        case contains
        case notContains = "not_contains"
        case matches
        case gt, gte, lt, lte
        case `in`
    }

    /// Parses either form; the problems' paths are relative to `value`.
    public init(parsing value: JSONValue) throws(WorkflowValidationError) {
        var problems: [FieldProblem] = []
        let parsed = Self.parse(value, at: [], into: &problems)
        guard problems.isEmpty, let parsed else {
            throw WorkflowValidationError(problems.isEmpty ? [FieldProblem([], "Invalid condition")] : problems)
        }
        self = parsed
    }

    /// Whether the condition holds; a condition that does not parse never holds.
    public static func evaluate(_ condition: JSONValue, context: WorkflowContext) -> Bool {
        (try? WorkflowCondition(parsing: condition))?.evaluate(context) ?? false
    }

    public func evaluate(_ context: WorkflowContext) -> Bool {
        switch self {
        case .always(let holds): return holds
        case .all(let conditions): return conditions.allSatisfy { $0.evaluate(context) }
        case .any(let conditions): return conditions.contains { $0.evaluate(context) }
        case .not(let condition): return !condition.evaluate(context)
        case .exists(let path, let expected):
            let present = context.resolve(path).map { !$0.isNull } ?? false
            return present == expected
        case .compare(let path, let op, let operand):
            guard let value = context.resolve(path) else { return op == .notEquals || op == .notContains }
            return Self.compare(value, op, operand)
        }
    }

    /// Every reference the condition reads.
    public var paths: [String] {
        switch self {
        case .always: []
        case .compare(let path, _, _), .exists(let path, _): [path]
        case .all(let conditions), .any(let conditions): conditions.flatMap(\.paths)
        case .not(let condition): condition.paths
        }
    }

    // MARK: - Evaluation

    static func compare(_ value: JSONValue, _ op: Operator, _ operand: JSONValue) -> Bool {
        switch op {
        case .equals: return equal(value, operand)
        case .notEquals: return !equal(value, operand)
        case .contains: return contains(value, operand)
        case .notContains: return !contains(value, operand)
        case .in: return operand.arrayValue?.contains { equal(value, $0) } ?? false
        case .matches:
            guard let pattern = operand.stringValue, let regex = try? SafeRegex(pattern, options: .conditions) else {
                return false
            }
            return regex.firstMatch(in: value.templateText) != nil
        case .gt, .gte, .lt, .lte:
            guard let left = number(value), let right = number(operand) else { return false }
            switch op {
            case .gt: return left > right
            case .gte: return left >= right
            case .lt: return left < right
            default: return left <= right
            }
        }
    }

    static func number(_ value: JSONValue) -> Double? {
        if let number = value.doubleValue { return number }
        return value.stringValue.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func equal(_ value: JSONValue, _ operand: JSONValue) -> Bool {
        if let left = value.doubleValue, let right = operand.doubleValue { return left == right }
        if let left = value.stringValue {
            let trimmed = left.trimmingCharacters(in: .whitespacesAndNewlines)
            if let right = operand.stringValue { return trimmed == right.trimmingCharacters(in: .whitespacesAndNewlines) }
            if let right = operand.doubleValue { return Double(trimmed) == right }
            if let right = operand.boolValue { return trimmed == String(right) }
            return false
        }
        return value == operand
    }

    static func contains(_ value: JSONValue, _ operand: JSONValue) -> Bool {
        switch value {
        case .string(let text): return text.range(of: operand.templateText, options: .caseInsensitive) != nil
        case .array(let items): return items.contains { equal($0, operand) }
        case .object(let fields): return operand.stringValue.map { fields[$0] != nil } ?? false
        default: return false
        }
    }

    // MARK: - Parsing

    static func parse(_ value: JSONValue, at path: [JSONValue], into problems: inout [FieldProblem])
        -> WorkflowCondition?
    {
        if let text = value.stringValue { return parse(text: text, at: path, into: &problems) }
        guard let fields = value.objectValue else {
            problems.append(FieldProblem(path, "A condition is an object such as {\"path\": ..., \"equals\": ...} or a string such as \"input.x == 'y'\"", type: "dict_type"))
            return nil
        }
        if let always = fields["always"] {
            guard let holds = always.boolValue, fields.count == 1 else {
                problems.append(FieldProblem(path + ["always"], "Should be true or false, alone", type: "bool_type"))
                return nil
            }
            return .always(holds)
        }
        for combinator in ["all", "any"] {
            guard let items = fields[combinator] else { continue }
            guard let list = items.arrayValue, !list.isEmpty, fields.count == 1 else {
                problems.append(FieldProblem(path + [.string(combinator)], "Should be a non-empty list of conditions, alone",
                    type: "list_type"))
                return nil
            }
            let parsed = list.enumerated().map { index, item in
                parse(item, at: path + [.string(combinator), .int(Int64(index))], into: &problems)
            }
            let conditions = parsed.compactMap { $0 }
            guard conditions.count == parsed.count else { return nil }
            return combinator == "all" ? .all(conditions) : .any(conditions)
        }
        if let inner = fields["not"] {
            guard fields.count == 1 else {
                problems.append(FieldProblem(path + ["not"], "'not' takes one condition, alone"))
                return nil
            }
            return parse(inner, at: path + ["not"], into: &problems).map(WorkflowCondition.not)
        }
        guard let reference = fields["path"]?.stringValue else {
            problems.append(FieldProblem(path + ["path"], "Field required: the reference to test (\(WorkflowReference.forms))",
                type: "missing"))
            return nil
        }
        guard checkReference(reference, at: path + ["path"], into: &problems) else { return nil }
        let operators = fields.keys.filter { $0 != "path" }.sorted()
        guard operators.count == 1, let name = operators.first else {
            let names = (Operator.allCases.map(\.rawValue) + ["exists"]).joined(separator: ", ")
            problems.append(FieldProblem(path, "A condition needs exactly one operator besides 'path': one of \(names)"))
            return nil
        }
        let operand = fields[name] ?? .null
        if name == "exists" {
            guard let expected = operand.boolValue else {
                problems.append(FieldProblem(path + ["exists"], "Input should be a valid boolean", type: "bool_type"))
                return nil
            }
            return .exists(path: reference, expected)
        }
        guard let op = Operator(rawValue: name) else {
            problems.append(FieldProblem(path + [.string(name)], "Unknown operator '\(name)'"))
            return nil
        }
        return check(op, operand, at: path + [.string(name)], into: &problems) ? .compare(path: reference, op, operand) : nil
    }

    /// Whether `operand` suits `op` (a number for comparisons, a valid pattern for `matches`, a list for `in`).
    static func check(_ op: Operator, _ operand: JSONValue, at path: [JSONValue], into problems: inout [FieldProblem])
        -> Bool
    {
        switch op {
        case .gt, .gte, .lt, .lte:
            if operand.doubleValue == nil {
                problems.append(FieldProblem(path, "Input should be a valid number", type: "float_type"))
                return false
            }
        case .matches:
            guard let pattern = operand.stringValue else {
                problems.append(FieldProblem(path, "Should be a regular expression string", type: "string_type"))
                return false
            }
            do {
                _ = try SafeRegex(pattern, options: .conditions)
            } catch {
                problems.append(FieldProblem(path,
                    "Unsupported regular expression: \(error.description). Conditions use a linear-time engine: no "
                        + "backreferences, lookaround, nested quantifiers like '(a+)+' or patterns that match empty text",
                    type: "value_error"))
                return false
            }
        case .in:
            if operand.arrayValue == nil {
                problems.append(FieldProblem(path, "Input should be a valid list", type: "list_type"))
                return false
            }
        default:
            break
        }
        return true
    }

    static func checkReference(_ reference: String, at path: [JSONValue], into problems: inout [FieldProblem]) -> Bool {
        if WorkflowReference(reference) != nil { return true }
        problems.append(FieldProblem(path, "Invalid reference '\(reference)'; expected \(WorkflowReference.forms)"))
        return false
    }

    static let symbols: [String: String] = [
        "==": "equals", "!=": "not_equals", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte",
    ]

    /// The string form, `"<path> <operator> <operand>"` or `"<path> exists"`.
    static func parse(text: String, at path: [JSONValue], into problems: inout [FieldProblem]) -> WorkflowCondition? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let words = trimmed.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
        guard words.count >= 2 else {
            problems.append(FieldProblem(path, "Expected '<path> <operator> <operand>', such as \"steps.review.output contains 'REVISE'\""))
            return nil
        }
        guard checkReference(words[0], at: path, into: &problems) else { return nil }
        let name = symbols[words[1]] ?? words[1]
        if name == "exists" || name == "missing" {
            guard words.count == 2 else {
                problems.append(FieldProblem(path, "'\(name)' takes no operand"))
                return nil
            }
            return .exists(path: words[0], name == "exists")
        }
        guard let op = Operator(rawValue: name) else {
            problems.append(FieldProblem(path, "Unknown operator '\(words[1])'"))
            return nil
        }
        guard words.count == 3 else {
            problems.append(FieldProblem(path, "Operator '\(words[1])' needs an operand"))
            return nil
        }
        let operand = literal(words[2])
        return check(op, operand, at: path, into: &problems) ? .compare(path: words[0], op, operand) : nil
    }

    /// A quoted string, a number, `true`, `false`, `null`, a JSON list, or else the bare text.
    static func literal(_ text: String) -> JSONValue {
        if text.count >= 2, let quote = text.first, quote == "'" || quote == "\"", text.last == quote {
            return .string(String(text.dropFirst().dropLast()))
        }
        if let value = try? JSONParser.parse(Array(text.utf8)) { return value }
        return .string(text)
    }
}
