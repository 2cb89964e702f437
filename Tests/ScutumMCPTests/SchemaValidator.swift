import Foundation

/// The part of JSON Schema that agentgateway's config schema uses for its MCP branch: `type`
/// (one or a list), `properties`, `required`, `items`, `enum`, `minimum`/`maximum`, `oneOf`,
/// `additionalProperties` (false or a schema) and `unevaluatedProperties: false` (counting the
/// properties of the `oneOf` branch that matched). Values come from YAML or JSON as `Any`.
struct SchemaValidator {
    /// Every problem with `value`, as `path: message`; empty when it validates.
    static func errors(_ value: Any?, schema: Any, path: String = "$") -> [String] {
        if let flag = schema as? Bool { return flag ? [] : ["\(path): not allowed"] }
        guard let schema = schema as? [String: Any] else { return [] }
        var errors: [String] = []
        if let types = schema["type"] {
            let allowed = (types as? [String]) ?? [types as? String ?? ""]
            if !allowed.contains(where: { matches(value, type: $0) }) {
                return ["\(path): expected \(allowed.joined(separator: " or ")), got \(String(describing: value ?? "null"))"]
            }
        }
        if let options = schema["enum"] as? [Any], !options.contains(where: { "\($0)" == "\(value ?? "null")" }) {
            errors.append("\(path): \(String(describing: value)) is not one of \(options)")
        }
        if let number = value as? Int {
            if let minimum = schema["minimum"] as? Int, number < minimum { errors.append("\(path): below \(minimum)") }
            if let maximum = schema["maximum"] as? Int, number > maximum { errors.append("\(path): above \(maximum)") }
        }
        if let items = value as? [Any], let itemSchema = schema["items"] {
            for (index, item) in items.enumerated() {
                errors += Self.errors(item, schema: itemSchema, path: "\(path)[\(index)]")
            }
        }
        var evaluated = Set<String>()
        if let object = value as? [String: Any] {
            let properties = schema["properties"] as? [String: Any] ?? [:]
            evaluated.formUnion(properties.keys)
            for name in schema["required"] as? [String] ?? [] where object[name] == nil {
                errors.append("\(path): missing required '\(name)'")
            }
            for (name, propertySchema) in properties {
                if let property = object[name] { errors += Self.errors(property, schema: propertySchema, path: "\(path).\(name)") }
            }
            if let additional = schema["additionalProperties"] {
                for name in object.keys.sorted() where properties[name] == nil {
                    if additional as? Bool == false {
                        errors.append("\(path): unknown property '\(name)'")
                    } else {
                        errors += Self.errors(object[name], schema: additional, path: "\(path).\(name)")
                    }
                }
            }
        }
        if let branches = schema["oneOf"] as? [Any] {
            let passing = branches.filter { Self.errors(value, schema: $0, path: path).isEmpty }
            if passing.count != 1 {
                errors.append("\(path): matches \(passing.count) of the oneOf branches, not exactly one")
            }
            for branch in passing {
                evaluated.formUnion(((branch as? [String: Any])?["properties"] as? [String: Any] ?? [:]).keys)
            }
        }
        if schema["unevaluatedProperties"] as? Bool == false, let object = value as? [String: Any] {
            for name in object.keys.sorted() where !evaluated.contains(name) {
                errors.append("\(path): unevaluated property '\(name)'")
            }
        }
        return errors
    }

    static func matches(_ value: Any?, type: String) -> Bool {
        switch type {
        case "null": value == nil || value is NSNull
        case "object": value is [String: Any]
        case "array": value is [Any]
        case "string": value is String
        case "integer": value is Int
        case "number": value is Int || value is Double
        case "boolean": value is Bool
        default: true
        }
    }
}
