import Foundation
import Hummingbird
import NIOCore
import ScutumCore

/// `GET /v1/models` and `GET /v1/models/{id}` in OpenAI's list format: the models this node can
/// serve now, then the group and provider aliases that reach at least one of them.
struct ModelRoutes: Sendable {
    let catalog: CatalogHolder
    /// Reported as `created` for every entry (the catalog has no per-model dates).
    let created: Int

    struct Model: Encodable {
        var id: String
        var object = "model"
        var created: Int
        var owned_by: String
    }

    struct ModelList: Encodable {
        var object = "list"
        var data: [Model]
    }

    func register(on router: Router<ProxyRequestContext>) {
        router.get("/v1/models") { _, _ in
            let models = catalog.current.routableNames().map {
                Model(id: $0.name, created: created, owned_by: $0.ownedBy)
            }
            return try Self.json(ModelList(data: models))
        }
        router.get("/v1/models/{id}") { _, context in
            let id = try context.parameters.require("id")
            guard let entry = catalog.current.routableNames().first(where: { $0.name == id }) else {
                throw GatewayError.modelNotFound(id)
            }
            return try Self.json(Model(id: entry.name, created: created, owned_by: entry.ownedBy))
        }
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return Response(status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}
