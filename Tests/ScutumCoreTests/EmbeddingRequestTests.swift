import Foundation
import ScutumCore
import Testing

func parseEmbedding(_ text: String) throws(GatewayError) -> EmbeddingRequest {
    try EmbeddingRequest(json: RequestJSON.parse(Array(text.utf8)))
}

func embeddingError(_ text: String) -> GatewayError? {
    do {
        _ = try parseEmbedding(text)
        return nil
    } catch {
        return error
    }
}

@Suite("Embedding request validation")
struct EmbeddingRequestTests {
    static let rejections: [Rejection] = [
        Rejection(body: #"{"input":"hi"}"#, param: "model", code: "missing_required_parameter"),
        Rejection(body: #"{"model":null,"input":"hi"}"#, param: "model", code: "missing_required_parameter"),
        Rejection(body: #"{"model":1,"input":"hi"}"#, param: "model", code: "invalid_type"),
        Rejection(body: #"{"model":"","input":"hi"}"#, param: "model", code: "invalid_type"),
        Rejection(body: #"{"model":"e"}"#, param: "input", code: "missing_required_parameter",
            messageContains: "'input'"),
        Rejection(body: #"{"model":"e","input":null}"#, param: "input", code: "missing_required_parameter"),
        Rejection(body: #"{"model":"e","input":""}"#, param: "input", code: "invalid_value"),
        Rejection(body: #"{"model":"e","input":[]}"#, param: "input", code: "invalid_value"),
        Rejection(body: #"{"model":"e","input":["a",1]}"#, param: "input", code: "invalid_type"),
        Rejection(body: #"{"model":"e","input":[[1,2],"a"]}"#, param: "input", code: "invalid_type"),
        Rejection(body: #"{"model":"e","input":[[1,"x"]]}"#, param: "input", code: "invalid_type"),
        Rejection(body: #"{"model":"e","input":[1.5]}"#, param: "input", code: "invalid_type"),
        Rejection(body: #"{"model":"e","input":[null]}"#, param: "input", code: "invalid_type"),
        Rejection(body: #"{"model":"e","input":5}"#, param: "input", code: "invalid_type"),
        Rejection(body: #"{"model":"e","input":{"text":"a"}}"#, param: "input", code: "invalid_type"),
        Rejection(body: #"{"model":"e","input":true}"#, param: "input", code: "invalid_type"),
        Rejection(body: #"{"model":"e","input":"a","encoding_format":"hex"}"#, param: "encoding_format",
            code: "invalid_value"),
        Rejection(body: #"{"model":"e","input":"a","encoding_format":1}"#, param: "encoding_format",
            code: "invalid_value"),
        Rejection(body: #"["e"]"#, param: nil, code: "invalid_type"),
        Rejection(body: "", param: nil, code: "invalid_json"),
        Rejection(body: #"{"model":"e","input":"#, param: nil, code: "invalid_json"),
    ]

    @Test("invalid bodies are rejected with 400 naming the parameter", arguments: rejections)
    func rejected(_ rejection: Rejection) throws {
        let error = try #require(embeddingError(rejection.body), "accepted an invalid body")
        #expect(error.status == 400)
        #expect(error.type == "invalid_request_error")
        #expect(error.param == rejection.param)
        #expect(error.code == rejection.code)
        if !rejection.messageContains.isEmpty {
            #expect(error.message.contains(rejection.messageContains), "message: \(error.message)")
        }
    }

    @Test("input forms and how many inputs each counts")
    func inputCounts() throws {
        #expect(try parseEmbedding(#"{"model":"e","input":"hello"}"#).inputCount == 1)
        #expect(try parseEmbedding(#"{"model":"e","input":["a","b","c"]}"#).inputCount == 3)
        // One token array is one input; an array of token arrays is one input each.
        #expect(try parseEmbedding(#"{"model":"e","input":[1,2,3,4]}"#).inputCount == 1)
        #expect(try parseEmbedding(#"{"model":"e","input":[[1,2],[3]]}"#).inputCount == 2)
        let request = try parseEmbedding(#"{"model":"e","input":"x","encoding_format":"base64","dimensions":256}"#)
        #expect(request.model == "e")
        #expect(request.body["dimensions"] == 256)
        #expect(try parseEmbedding(#"{"model":"e","input":"x","encoding_format":"float"}"#).inputCount == 1)
        #expect(try parseEmbedding(#"{"model":"e","input":"x","encoding_format":null}"#).inputCount == 1)
    }

    @Test("at most 2048 inputs")
    func inputLimit() throws {
        func body(_ count: Int) -> String {
            let items = Array(repeating: #""x""#, count: count).joined(separator: ",")
            return #"{"model":"e","input":[\#(items)]}"#
        }
        #expect(try parseEmbedding(body(2048)).inputCount == 2048)
        let error = try #require(embeddingError(body(2049)))
        #expect(error.param == "input")
        #expect(error.message.contains("2049"))
    }

    @Test("the upstream body replaces only the model")
    func upstream() throws {
        let request = try parseEmbedding(#"{"model":"alias","input":["a"],"user":"u1"}"#)
        let body = request.upstreamBody(model: "text-embedding-3-small")
        #expect(body == ["model": "text-embedding-3-small", "input": ["a"], "user": "u1"])
    }
}
