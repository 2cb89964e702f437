/// What a virtual key may do: `user` keys call the proxy; `admin` keys also log in to the Admin API
/// and the console. The same two values are stored in `api_keys.role` (checked by the schema) and
/// carried by Admin API tokens.
public enum KeyRole: String, Sendable, CaseIterable, Codable {
    case user
    case admin
}
