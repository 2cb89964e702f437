import Foundation
import ScutumCore

/// A key's guardrails (the `api_keys.guardrails` column): what its team's assignments (or the
/// default profile) give it, nothing, or that plus some profiles of its own.
public enum KeyGuardrails: Sendable, Equatable {
    /// The team's assigned profiles, else the default profile.
    case inherit
    /// No guardrails for this key.
    case off
    /// What `inherit` gives, then these profiles in this order.
    case extra([UUID])

    /// As stored and shown: `"inherit"`, `"off"`, or a list of profile ids.
    public var json: JSONValue {
        switch self {
        case .inherit: "inherit"
        case .off: "off"
        case .extra(let ids): .array(ids.map { .string($0.wire) })
        }
    }

    /// Reads the stored form: list entries that are not ids are skipped, an empty list is `inherit`,
    /// and so is anything unrecognised (which the column's CHECK prevents).
    public init(json: JSONValue) {
        switch json {
        case "off":
            self = .off
        case .array(let items):
            let ids = items.compactMap { $0.stringValue.flatMap(UUID.init(uuidString:)) }
            self = ids.isEmpty ? .inherit : .extra(ids)
        default:
            self = .inherit
        }
    }
}
