import HTTPTypes
import Hummingbird

/// The Gemini API's `embedContent` and `batchEmbedContents`, with the same deterministic vectors
/// as the OpenAI embeddings.
enum GeminiEmbeddings {
    /// Default output size: 3072 for `gemini-embedding-*`, 768 for the older text embedding models.
    static func defaultDimensions(_ model: String) -> Int {
        model.contains("gemini-embedding") ? 3072 : 768
    }

    static func serve(_ bytes: [UInt8], model: String, batch: Bool, knobs: MockKnobs) async throws -> Response {
        guard let body = JSONText.object(bytes) else {
            return ProviderErrors.google(status: 400, message: "Invalid JSON payload received. Unexpected token.")
        }
        let requests: [[String: Any]]
        if batch {
            guard let list = body["requests"] as? [[String: Any]], !list.isEmpty else {
                return ProviderErrors.google(status: 400, message: "* BatchEmbedContentsRequest.requests: requests is not specified\n")
            }
            requests = list
        } else {
            requests = [body]
        }
        var texts: [String] = []
        for (index, request) in requests.enumerated() {
            guard let content = request["content"] as? [String: Any] else {
                let field = batch ? "BatchEmbedContentsRequest.requests[\(index)].content" : "EmbedContentRequest.content"
                return ProviderErrors.google(status: 400, message: "* \(field): content is not specified\n")
            }
            texts.append(GeminiGenerate.text(of: content["parts"]))
        }
        let directives = MockDirectives(knobs: knobs, text: texts.joined(separator: "\n"))
        if let failure = try await MockUpstream.misbehave(directives, fail: { ProviderErrors.google(status: $0, retryAfter: $1) }) {
            return failure
        }
        let embeddings = zip(requests, texts).map { request, text in
            let dimensions = GoogleJSON.field(request, "outputDimensionality") as? Int ?? defaultDimensions(model)
            let values = OpenAIEmbeddings.embedding(of: text, dimensions: dimensions).map { String($0) }
            return #"{"values":[\#(values.joined(separator: ","))]}"#
        }
        let json = batch ? #"{"embeddings":[\#(embeddings.joined(separator: ","))]}"# : #"{"embedding":\#(embeddings[0])}"#
        return Response(status: .ok, headers: [.contentType: "application/json; charset=UTF-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
    }
}
