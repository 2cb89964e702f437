import ScutumCore
import ScutumGuardrails

extension GuardrailProfile {
    /// The profile a stored config describes: its columns (name, description, mode, on_fail,
    /// is_active) over its detector fields, parsed and validated by `GuardrailProfile(json:)`.
    public init(config: GuardrailConfig) throws(GuardrailProfileError) {
        var fields = config.config.objectValue ?? [:]
        fields["name"] = .string(config.name)
        fields["description"] = config.description.map(JSONValue.string) ?? .null
        fields["mode"] = .string(config.mode.rawValue)
        fields["on_fail"] = .string(config.onFail.rawValue)
        fields["is_active"] = .bool(config.isActive)
        try self.init(json: .object(fields))
    }
}
