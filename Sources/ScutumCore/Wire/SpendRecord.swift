import Foundation

/// One proxied request as the spend log keeps it: who, which model, how many tokens, what it cost.
public struct SpendRecord: Sendable, Equatable {
    /// The cost in the parts the provider bills, USD; `SpendRecord.cost` is their sum.
    public struct CostParts: Sendable, Equatable {
        /// Uncached prompt tokens.
        public var input: Double
        /// Completion tokens, reasoning included.
        public var output: Double
        /// Prompt tokens read from the provider's cache.
        public var cacheRead: Double
        /// Prompt tokens written to the provider's cache.
        public var cacheWrite: Double

        public init(input: Double, output: Double, cacheRead: Double, cacheWrite: Double) {
            self.input = input
            self.output = output
            self.cacheRead = cacheRead
            self.cacheWrite = cacheWrite
        }

        /// The parts of a computed cost.
        public init(_ breakdown: CostBreakdown) {
            self.init(input: breakdown.input, output: breakdown.output, cacheRead: breakdown.cacheRead,
                cacheWrite: breakdown.cacheWrite)
        }

        var json: JSONValue {
            ["input": .double(input), "output": .double(output), "cache_read": .double(cacheRead),
             "cache_write": .double(cacheWrite)]
        }

        init?(json: JSONValue?) {
            guard let json, json.objectValue != nil else { return nil }
            self.init(input: json["input"]?.doubleValue ?? 0, output: json["output"]?.doubleValue ?? 0,
                cacheRead: json["cache_read"]?.doubleValue ?? 0, cacheWrite: json["cache_write"]?.doubleValue ?? 0)
        }
    }

    /// Unique per request; writing the same record twice stores it once.
    public var requestID: String
    public var at: Date
    public var keyID: String?
    public var keyAlias: String?
    public var teamID: String?
    public var userID: String?
    public var modelRequested: String
    public var modelServed: String?
    public var provider: String?
    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedTokens: Int
    /// Prompt tokens written to the provider's cache (5-minute and 1-hour writes).
    public var cacheWriteTokens: Int
    /// Completion tokens spent reasoning, where the provider says.
    public var reasoningTokens: Int
    /// USD.
    public var cost: Double
    /// `cost` in parts; nil when not known (cost tracking off, rows written before parts were kept).
    public var costParts: CostParts?
    /// The id of the deployment that served (several deployments of a pool share a model name);
    /// nil when none did or for rows written before it was recorded.
    public var deploymentID: String?
    /// Answered from the response cache (at cost 0).
    public var cacheHit: Bool
    /// For a cache hit, what the answer cost when it was bought (USD); 0 otherwise.
    public var savedCost: Double
    public var latencyMilliseconds: Int
    /// The HTTP status the client got.
    public var status: Int
    public var stream: Bool
    /// The front door the request came in by (a `FrontDoor` name); nil when unknown (rows written
    /// before it was recorded).
    public var endpoint: String?

    public init(requestID: String, at: Date, keyID: String?, keyAlias: String?, teamID: String?, userID: String?,
        modelRequested: String, modelServed: String?, provider: String?, promptTokens: Int, completionTokens: Int,
        cachedTokens: Int, cost: Double, latencyMilliseconds: Int, status: Int, stream: Bool, endpoint: String? = nil,
        cacheWriteTokens: Int = 0, reasoningTokens: Int = 0, costParts: CostParts? = nil, deploymentID: String? = nil,
        cacheHit: Bool = false, savedCost: Double = 0)
    {
        self.cacheHit = cacheHit
        self.savedCost = savedCost
        self.requestID = requestID
        self.at = at
        self.keyID = keyID
        self.keyAlias = keyAlias
        self.teamID = teamID
        self.userID = userID
        self.modelRequested = modelRequested
        self.modelServed = modelServed
        self.provider = provider
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.cost = cost
        self.latencyMilliseconds = latencyMilliseconds
        self.status = status
        self.stream = stream
        self.endpoint = endpoint
        self.cacheWriteTokens = cacheWriteTokens
        self.reasoningTokens = reasoningTokens
        self.costParts = costParts
        self.deploymentID = deploymentID
    }

    /// The record as JSON: in the Admin API and the dead letters, and in the durable buffer of
    /// older nodes (today's nodes buffer `PackedSpendRecords`).
    public var json: JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        return [
            "request_id": .string(requestID), "at": .double(at.timeIntervalSince1970),
            "key_id": optional(keyID), "key_alias": optional(keyAlias), "team_id": optional(teamID),
            "user_id": optional(userID), "model_requested": .string(modelRequested),
            "model_served": optional(modelServed), "provider": optional(provider),
            "prompt_tokens": .int(Int64(promptTokens)), "completion_tokens": .int(Int64(completionTokens)),
            "cached_tokens": .int(Int64(cachedTokens)), "cost": .double(cost),
            "latency_ms": .int(Int64(latencyMilliseconds)), "status": .int(Int64(status)), "stream": .bool(stream),
            "endpoint": optional(endpoint), "cache_write_tokens": .int(Int64(cacheWriteTokens)),
            "reasoning_tokens": .int(Int64(reasoningTokens)), "cost_parts": costParts?.json ?? .null,
            "deployment_id": optional(deploymentID), "cache_hit": .bool(cacheHit), "saved_cost": .double(savedCost),
        ]
    }

    /// Reads `json`'s form back; nil if a required field is missing. Members holding their
    /// defaults may be left out (older nodes' durable buffer did so). A record written before
    /// `endpoint` existed reads with a nil `endpoint`; one written before the cost parts, with no
    /// cache writes, no reasoning tokens, nil parts and a nil deployment id.
    public init?(json: JSONValue) {
        guard let requestID = json["request_id"]?.stringValue, let at = json["at"]?.doubleValue,
            let model = json["model_requested"]?.stringValue, let status = json["status"]?.intValue
        else { return nil }
        self.init(requestID: requestID, at: Date(timeIntervalSince1970: at), keyID: json["key_id"]?.stringValue,
            keyAlias: json["key_alias"]?.stringValue, teamID: json["team_id"]?.stringValue,
            userID: json["user_id"]?.stringValue, modelRequested: model, modelServed: json["model_served"]?.stringValue,
            provider: json["provider"]?.stringValue, promptTokens: Int(json["prompt_tokens"]?.intValue ?? 0),
            completionTokens: Int(json["completion_tokens"]?.intValue ?? 0),
            cachedTokens: Int(json["cached_tokens"]?.intValue ?? 0), cost: json["cost"]?.doubleValue ?? 0,
            latencyMilliseconds: Int(json["latency_ms"]?.intValue ?? 0), status: Int(status),
            stream: json["stream"]?.boolValue ?? false, endpoint: json["endpoint"]?.stringValue,
            cacheWriteTokens: Int(json["cache_write_tokens"]?.intValue ?? 0),
            reasoningTokens: Int(json["reasoning_tokens"]?.intValue ?? 0), costParts: CostParts(json: json["cost_parts"]),
            deploymentID: json["deployment_id"]?.stringValue, cacheHit: json["cache_hit"]?.boolValue ?? false,
            savedCost: json["saved_cost"]?.doubleValue ?? 0)
    }
}
