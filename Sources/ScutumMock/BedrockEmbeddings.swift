import Foundation
import HTTPTypes
import Hummingbird

/// Bedrock's InvokeModel for embedding models: Amazon Titan Text Embeddings and Cohere Embed,
/// with the same deterministic vectors as the OpenAI embeddings.
enum BedrockEmbeddings {
    static let malformed = "Malformed input request, please reformat your input and try again."

    static func invoke(_ bytes: [UInt8], modelID: String, knobs: MockKnobs) async throws -> Response {
        let started = ContinuousClock.now
        guard let body = JSONText.object(bytes) else { return ProviderErrors.bedrock(status: 400, message: malformed) }
        let titan = modelID.contains("amazon.titan-embed")
        guard titan || modelID.contains("cohere.embed") else {
            return ProviderErrors.bedrock(status: 400, message: "The provided model identifier is invalid.")
        }
        let texts: [String]
        if titan {
            guard let text = body["inputText"] as? String else {
                return ProviderErrors.bedrock(status: 400, message: "Malformed input request: #: required key [inputText] not found, please reformat your input and try again.")
            }
            texts = [text]
        } else {
            guard let list = body["texts"] as? [String] else {
                return ProviderErrors.bedrock(status: 400, message: "Malformed input request: #: required key [texts] not found, please reformat your input and try again.")
            }
            guard body["input_type"] is String else {
                return ProviderErrors.bedrock(status: 400, message: "Malformed input request: #: required key [input_type] not found, please reformat your input and try again.")
            }
            texts = list
        }
        let directives = MockDirectives(knobs: knobs, text: texts.joined(separator: "\n"))
        if let failure = try await MockUpstream.misbehave(directives, fail: { status, _ in ProviderErrors.bedrock(status: status) }) {
            return failure
        }
        let tokens = texts.reduce(0) { $0 + max(1, CannedAnswers.countTokens($1)) }
        let json: String
        if titan {
            let v2 = modelID.contains("text-v2")
            let vector = vectorJSON(texts[0], dimensions: body["dimensions"] as? Int ?? (v2 ? 1024 : 1536))
            json = v2
                ? #"{"embedding":\#(vector),"embeddingsByType":{"float":\#(vector)},"inputTextTokenCount":\#(tokens)}"#
                : #"{"embedding":\#(vector),"inputTextTokenCount":\#(tokens)}"#
        } else {
            let dimensions = modelID.contains("embed-v4") ? 1536 : 1024
            let vectors = texts.map { vectorJSON($0, dimensions: dimensions) }.joined(separator: ",")
            let quoted = texts.map(JSONText.quote).joined(separator: ",")
            json = #"{"id":"\#(UUID().uuidString.lowercased())","embeddings":[\#(vectors)],"response_type":"embeddings_floats","texts":[\#(quoted)]}"#
        }
        var headers: HTTPFields = [:]
        headers[HTTPField.Name("x-amzn-RequestId")!] = UUID().uuidString.lowercased()
        headers[HTTPField.Name("X-Amzn-Bedrock-Input-Token-Count")!] = String(tokens)
        headers[HTTPField.Name("X-Amzn-Bedrock-Invocation-Latency")!] = String(max(1, Int((ContinuousClock.now - started) / .milliseconds(1))))
        return MockResponses.json(json, headers: headers)
    }

    static func vectorJSON(_ text: String, dimensions: Int) -> String {
        "[" + OpenAIEmbeddings.embedding(of: text, dimensions: dimensions).map { String($0) }.joined(separator: ",") + "]"
    }
}
