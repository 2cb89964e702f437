import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// An operator's change to one model of the catalog; nil fields keep the catalog file's value.
public struct ModelOverride: Sendable, Equatable {
    public var modelName: String
    public var inputCostPerToken: Double?
    public var outputCostPerToken: Double?
    public var rpm: Int?
    public var tpm: Int?
    public var active: Bool?
    public var tier: String?
    /// A JSON value, as text.
    public var capabilities: String?
    public var credentials: String?

    public init(modelName: String, inputCostPerToken: Double? = nil, outputCostPerToken: Double? = nil, rpm: Int? = nil,
        tpm: Int? = nil, active: Bool? = nil, tier: String? = nil, capabilities: String? = nil,
        credentials: String? = nil)
    {
        self.modelName = modelName
        self.inputCostPerToken = inputCostPerToken
        self.outputCostPerToken = outputCostPerToken
        self.rpm = rpm
        self.tpm = tpm
        self.active = active
        self.tier = tier
        self.capabilities = capabilities
        self.credentials = credentials
    }
}

/// The `model_overrides` table.
public struct ModelOverrideStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func list() async throws -> [ModelOverride] {
        let rows = try await client.query(
            """
            SELECT model_name, input_cost_per_token, output_cost_per_token, rpm, tpm, active, tier, capabilities::text,
                credentials FROM model_overrides ORDER BY model_name
            """, logger: logger)
        var overrides: [ModelOverride] = []
        for try await (name, input, output, rpm, tpm, active, tier, capabilities, credentials) in rows.decode(
            (String, Double?, Double?, Int?, Int?, Bool?, String?, String?, String?).self)
        {
            overrides.append(ModelOverride(modelName: name, inputCostPerToken: input, outputCostPerToken: output,
                rpm: rpm, tpm: tpm, active: active, tier: tier, capabilities: capabilities, credentials: credentials))
        }
        return overrides
    }

    /// Stores the override for its model, replacing the previous one.
    public func save(_ override: ModelOverride) async throws {
        try await client.query(
            """
            INSERT INTO model_overrides (model_name, input_cost_per_token, output_cost_per_token, rpm, tpm, active, tier,
                capabilities, credentials)
            VALUES (\(override.modelName), \(override.inputCostPerToken), \(override.outputCostPerToken), \(override.rpm),
                \(override.tpm), \(override.active), \(override.tier), \(override.capabilities)::jsonb,
                \(override.credentials))
            ON CONFLICT (model_name) DO UPDATE SET input_cost_per_token = EXCLUDED.input_cost_per_token,
                output_cost_per_token = EXCLUDED.output_cost_per_token, rpm = EXCLUDED.rpm, tpm = EXCLUDED.tpm,
                active = EXCLUDED.active, tier = EXCLUDED.tier, capabilities = EXCLUDED.capabilities,
                credentials = EXCLUDED.credentials, updated_at = now()
            """, logger: logger)
    }
}
