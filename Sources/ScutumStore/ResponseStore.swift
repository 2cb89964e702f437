import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// One stored response of the Responses API (`responses` table).
public struct StoredResponse: Sendable, Equatable {
    public var id: String
    /// The key that created it (its id), or `master`.
    public var owner: String
    public var model: String
    /// The response object as it was returned.
    public var response: JSONValue
    /// This request's input items, with ids, in order.
    public var inputItems: [JSONValue]
    /// Every item the model was given for this turn: earlier turns, then this turn's input.
    public var context: [JSONValue]
    public var createdAt: Date
    public var expiresAt: Date

    public init(id: String, owner: String, model: String, response: JSONValue, inputItems: [JSONValue],
        context: [JSONValue], createdAt: Date, expiresAt: Date)
    {
        self.id = id
        self.owner = owner
        self.model = model
        self.response = response
        self.inputItems = inputItems
        self.context = context
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    /// The output items of the response object.
    public var output: [JSONValue] { response["output"]?.arrayValue ?? [] }
}

/// The `responses` table. Every read and delete is by id *and* owner, and an expired response is
/// gone: for another key's response, a missing one and an expired one the caller sees the same.
public struct ResponseStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Stores `response` (an id stored before is replaced: a retried request).
    public func save(_ response: StoredResponse) async throws {
        try await client.query(
            """
            INSERT INTO responses (id, owner, model, response, input_items, context, created_at, expires_at)
            VALUES (\(response.id), \(response.owner), \(response.model), \(response.response.jsonString)::jsonb,
                \(JSONValue.array(response.inputItems).jsonString)::jsonb,
                \(JSONValue.array(response.context).jsonString)::jsonb, \(response.createdAt), \(response.expiresAt))
            ON CONFLICT (id) DO UPDATE SET response = EXCLUDED.response, input_items = EXCLUDED.input_items,
                context = EXCLUDED.context, expires_at = EXCLUDED.expires_at
            WHERE responses.owner = EXCLUDED.owner
            """, logger: logger)
    }

    /// The response `id` of `owner`, unless it expired.
    public func find(id: String, owner: String) async throws -> StoredResponse? {
        let rows = try await client.query(
            """
            SELECT model, response::text, input_items::text, context::text, created_at, expires_at FROM responses
            WHERE id = \(id) AND owner = \(owner) AND expires_at > now()
            """, logger: logger)
        for try await (model, response, input, context, created, expires)
            in rows.decode((String, String, String, String, Date, Date).self)
        {
            return StoredResponse(id: id, owner: owner, model: model, response: try Self.parse(response),
                inputItems: try Self.parse(input).arrayValue ?? [], context: try Self.parse(context).arrayValue ?? [],
                createdAt: created, expiresAt: expires)
        }
        return nil
    }

    /// Deletes the response `id` of `owner`; false when there was none (or it had expired).
    public func delete(id: String, owner: String) async throws -> Bool {
        let rows = try await client.query(
            "DELETE FROM responses WHERE id = \(id) AND owner = \(owner) AND expires_at > now() RETURNING 1",
            logger: logger)
        var deleted = false
        for try await _ in rows { deleted = true }
        return deleted
    }

    /// Deletes up to `limit` expired responses (skipping rows another node is deleting); returns how many.
    @discardableResult
    public func deleteExpired(limit: Int = 10_000) async throws -> Int {
        let rows = try await client.query(
            """
            DELETE FROM responses WHERE id IN (SELECT id FROM responses WHERE expires_at <= now()
                ORDER BY expires_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING 1
            """, logger: logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    static func parse(_ text: String) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }
}
