/// A `conditional` routing policy: requests for `sourceModel` that match `condition` go to
/// `redirectTo` instead (as if the client had asked for it: its fallbacks, allow-lists and limits).
public struct ConditionalRoute: Sendable, Equatable {
    public var sourceModel: String
    public var redirectTo: String
    public var condition: Condition

    /// What a request must match; every field given must hold.
    public struct Condition: Sendable, Equatable {
        /// The caller's key belongs to one of these teams.
        public var teamIDs: Set<String>?
        /// The caller's key has one of these aliases.
        public var keyAliases: Set<String>?
        /// The caller's key belongs to one of these users.
        public var userIDs: Set<String>?
        /// Each of these entries is in the key's metadata with the same value.
        public var metadata: [String: JSONValue] = [:]
        /// The prompt is at least / at most this many tokens (estimated at four bytes a token).
        public var minPromptTokens: Int?
        public var maxPromptTokens: Int?

        /// The condition's fields, as the Admin API validates them.
        public static let fields: Set<String> = [
            "team_id", "key_alias", "user_id", "metadata", "min_prompt_tokens", "max_prompt_tokens",
        ]

        public init() {}

        /// Reads `{team_id, key_alias, user_id, metadata, min_prompt_tokens, max_prompt_tokens}`;
        /// the three ids take a string or a list of strings. Nil when it holds nothing it knows.
        public init?(_ value: JSONValue) {
            guard let fields = value.objectValue, !fields.isEmpty,
                fields.keys.allSatisfy(Self.fields.contains) else { return nil }
            func names(_ field: String) -> Set<String>? {
                guard let entry = fields[field] else { return nil }
                if let single = entry.stringValue { return [single] }
                return entry.arrayValue.map { Set($0.compactMap(\.stringValue)) }
            }
            teamIDs = names("team_id")
            keyAliases = names("key_alias")
            userIDs = names("user_id")
            metadata = fields["metadata"]?.objectValue ?? [:]
            minPromptTokens = fields["min_prompt_tokens"]?.doubleValue.map { Int($0) }
            maxPromptTokens = fields["max_prompt_tokens"]?.doubleValue.map { Int($0) }
        }

        /// Whether a request from this caller with this prompt size matches.
        public func matches(_ request: RequestFacts) -> Bool {
            if let teamIDs, !(request.teamID.map(teamIDs.contains) ?? false) { return false }
            if let keyAliases, !(request.keyAlias.map(keyAliases.contains) ?? false) { return false }
            if let userIDs, !(request.userID.map(userIDs.contains) ?? false) { return false }
            for (name, value) in metadata where request.metadata[name] != value { return false }
            if let minPromptTokens, request.promptTokens < minPromptTokens { return false }
            if let maxPromptTokens, request.promptTokens > maxPromptTokens { return false }
            return true
        }
    }

    /// What a condition can look at.
    public struct RequestFacts: Sendable {
        public var teamID: String?
        public var keyAlias: String?
        public var userID: String?
        public var metadata: [String: JSONValue]
        public var promptTokens: Int

        public init(teamID: String? = nil, keyAlias: String? = nil, userID: String? = nil,
            metadata: [String: JSONValue] = [:], promptTokens: Int = 0)
        {
            self.teamID = teamID
            self.keyAlias = keyAlias
            self.userID = userID
            self.metadata = metadata
            self.promptTokens = promptTokens
        }
    }

    public init(sourceModel: String, redirectTo: String, condition: Condition) {
        self.sourceModel = sourceModel
        self.redirectTo = redirectTo
        self.condition = condition
    }
}
