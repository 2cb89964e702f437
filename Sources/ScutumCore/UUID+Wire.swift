import Foundation

extension UUID {
    /// The id as the APIs write it and PostgreSQL prints it: lowercase, with hyphens
    /// (`UUID.uuidString` is uppercase). Key ids, budget ids, guardrail ids... all go out this way.
    public var wire: String { uuidString.lowercased() }
}
