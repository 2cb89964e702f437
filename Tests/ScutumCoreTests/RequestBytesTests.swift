import Foundation
import NIOCore
import ScutumCore
import Testing

/// The outcome of validating a body: the request's fields, or the error's identifying parts.
struct Outcome: Equatable, CustomStringConvertible {
    var fields: String?
    var error: String?

    init(_ make: () throws(GatewayError) -> String) {
        do {
            fields = try make()
        } catch {
            // Parse details (byte offsets) may differ between the parser and the scanner.
            let message = error.code == "invalid_json" ? "" : error.message
            self.error = "\(error.status) \(error.code ?? "-") \(error.param ?? "-") \(message)"
        }
    }

    var description: String { fields ?? error ?? "" }
}

func chatOutcome(_ text: String, bytes: Bool) -> Outcome {
    Outcome { () throws(GatewayError) in
        let request = bytes
            ? try ChatCompletionRequest(bytes: ByteBuffer(string: text))
            : try ChatCompletionRequest(json: RequestJSON.parse(Array(text.utf8)))
        return "\(request.model) \(request.stream) \(request.includeUsage) \(String(describing: request.maxTokens)) \(JSONValue.array(request.messages).jsonString)"
    }
}

func embeddingOutcome(_ text: String, bytes: Bool) -> Outcome {
    Outcome { () throws(GatewayError) in
        let request = bytes
            ? try EmbeddingRequest(bytes: ByteBuffer(string: text))
            : try EmbeddingRequest(json: RequestJSON.parse(Array(text.utf8)))
        return "\(request.model) \(request.inputCount)"
    }
}

@Suite("Requests read from the caller's bytes")
struct RequestBytesTests {
    static let chatBodies: [String] = ChatCompletionRequestTests.rejections.map(\.body)
        + ChatCompletionRequestTests.acceptedBodies + [
            #"{"model":"m","messages":[{"role":"user","content":"hi"},"not an object"]}"#,
            #"{"model":"m","messages":[{"role":"user","content":5}]}"#,
            #"{"model":"m","messages":[{"role":"user"}]}"#,
            #"{"model":"m","messages":[{"role":"user","content":null}]}"#,
            #"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#,
            #"{"model":"m","messages":[{"role":"user","content":"a","role":"wizard"}]}"#,
            #"{"model":"m","messages":{"role":"user"}}"#,
            #"{"model":"m","messages":null}"#,
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}"#,
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":[]}"#,
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":1}}"#,
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":1e2,"temperature":"hot"}"#,
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}"#,
        ]

    @Test("chat bodies get the same answer from the bytes as from the tree", arguments: chatBodies)
    func chatAgreement(_ text: String) {
        #expect(chatOutcome(text, bytes: true) == chatOutcome(text, bytes: false))
    }

    @Test("embedding bodies get the same answer from the bytes as from the tree",
        arguments: EmbeddingRequestTests.rejections.map(\.body) + [
            #"{"model":"e","input":"a"}"#, #"{"model":"e","input":["a","b"]}"#, #"{"model":"e","input":[1,2,3]}"#,
            #"{"model":"e","input":[[1,2],[3.0]]}"#, #"{"model":"e","input":[[1,[2]]]}"#,
            #"{"model":"e","input":"a","encoding_format":"base64"}"#,
        ])
    func embeddingAgreement(_ text: String) {
        #expect(embeddingOutcome(text, bytes: true) == embeddingOutcome(text, bytes: false))
    }

    @Test("duplicate top-level keys are refused as invalid JSON, however the key is spelled", arguments: [
        #"{"model":"cheap","messages":[{"role":"user","content":"hi"}],"model":"dear"}"#,
        #"{"model":"cheap","messages":[{"role":"user","content":"hi"}],"mod\u0065l":"dear"}"#,
        #"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":false,"stream":true}"#,
    ])
    func duplicateKeys(_ text: String) throws {
        let error = try #require(chatOutcome(text, bytes: true).error)
        #expect(error.hasPrefix("400 invalid_json -"))
        #expect(embeddingOutcome(text.replacingOccurrences(of: "messages", with: "input"), bytes: true).error?
            .hasPrefix("400 invalid_json") == true)
        do {
            _ = try ChatCompletionRequest(bytes: ByteBuffer(string: text))
        } catch {
            #expect(error.message.contains("Duplicate key"), "\(error.message)")
        }
    }

    @Test("duplicate keys inside messages are left to the last-wins rule, as before")
    func nestedDuplicates() throws {
        let text = #"{"model":"m","messages":[{"role":"wizard","content":"hi","role":"user"}]}"#
        let request = try ChatCompletionRequest(bytes: ByteBuffer(string: text))
        #expect(request.messages == [["role": "user", "content": "hi"]])
    }

    @Test("the upstream body is the caller's bytes with only model replaced")
    func spliceModel() throws {
        let text = "{ \"temperature\" : 0.5,\n  \"model\":\"alias\", \"messages\":[{\"content\":\"caf\\u00e9 \\\"q\\\"\",\"role\":\"user\"}],\"zeta\":[1, 2] }"
        let request = try ChatCompletionRequest(bytes: ByteBuffer(string: text))
        let upstream = request.upstreamBytes(model: "real/\"model\"", forceUsage: true)
        #expect(String(buffer: upstream) == text.replacingOccurrences(of: #""alias""#, with: #""real/\"model\"""#))
        let embedding = try EmbeddingRequest(bytes: ByteBuffer(string: #"{"input" : ["a"],"model":"e"}"#))
        #expect(String(buffer: embedding.upstreamBytes(model: "x")) == #"{"input" : ["a"],"model":"x"}"#)
    }

    static let streamCases: [(String, String)] = [
        (#"{"model":"a","stream":true,"messages":[]}"#, #"{"stream_options":{"include_usage":true},"model":"b","stream":true,"messages":[]}"#),
        (#"{"model":"a","stream":true,"stream_options":null,"messages":[]}"#,
            #"{"model":"b","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#),
        (#"{"model":"a","stream":true,"stream_options":{ },"messages":[]}"#,
            #"{"model":"b","stream":true,"stream_options":{"include_usage":true },"messages":[]}"#),
        (#"{"model":"a","stream":true,"stream_options":{"x":1},"messages":[]}"#,
            #"{"model":"b","stream":true,"stream_options":{"include_usage":true,"x":1},"messages":[]}"#),
        (#"{"model":"a","stream":true,"stream_options":{"include_usage": false},"messages":[]}"#,
            #"{"model":"b","stream":true,"stream_options":{"include_usage": true},"messages":[]}"#),
        (#"{"model":"a","stream":true,"stream_options":{"include_usage":null},"messages":[]}"#,
            #"{"model":"b","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#),
        (#"{"stream_options":{"include_usage":true},"stream":true,"model":"a","messages":[]}"#,
            #"{"stream_options":{"include_usage":true},"stream":true,"model":"b","messages":[]}"#),
    ]

    @Test("streams get include_usage spliced in", arguments: streamCases.indices)
    func spliceUsage(_ index: Int) throws {
        let (input, expected) = Self.streamCases[index]
        let text = input.replacingOccurrences(of: #""messages":[]"#, with: #""messages":[{"role":"user","content":"hi"}]"#)
        let request = try ChatCompletionRequest(bytes: ByteBuffer(string: text))
        let upstream = String(buffer: request.upstreamBytes(model: "b", forceUsage: true))
        #expect(upstream == expected.replacingOccurrences(of: #""messages":[]"#, with: #""messages":[{"role":"user","content":"hi"}]"#))
        // What the splice produces is what the tree path would send.
        #expect(try JSONParser.parse(Array(upstream.utf8)) == .object(request.upstreamBody(model: "b", forceUsage: true)))
        // Not forced: only the model changes.
        let unforced = String(buffer: request.upstreamBytes(model: "b", forceUsage: false))
        #expect(unforced == text.replacingOccurrences(of: #""model":"a""#, with: #""model":"b""#))
    }

    @Test("the tree is built on first read and equals the parsed body")
    func lazyTree() throws {
        let text = #"{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":7,"x":{"y":[1.5,null]}}"#
        let request = try ChatCompletionRequest(bytes: ByteBuffer(string: text))
        #expect(request.document != nil)
        #expect(.object(request.body) == (try JSONParser.parse(Array(text.utf8))))
        #expect(request.messages == [["role": "user", "content": "hi"]])
        #expect(request.scalarMembers == ["model": "m", "seed": 7])
    }

    @Test("once the body is replaced, the upstream body is written from the tree")
    func mutatedBody() throws {
        let text = #"{"model":"m", "messages":[{"role":"user","content":"my secret"}]}"#
        var request = try ChatCompletionRequest(bytes: ByteBuffer(string: text))
        let copy = request
        request.body["messages"] = [["role": "user", "content": "my [MASKED]"]]
        #expect(request.document == nil)
        let upstream = try JSONParser.parse(request.upstreamBytes(model: "u", forceUsage: false).readableBytesView)
        #expect(upstream["messages"] == [["role": "user", "content": "my [MASKED]"]])
        #expect(upstream["model"] == "u")
        #expect(request.scalarMembers == ["model": "m"])
        // A copy taken before keeps the caller's bytes.
        #expect(String(buffer: copy.upstreamBytes(model: "m", forceUsage: false)) == text)
        var embedding = try EmbeddingRequest(bytes: ByteBuffer(string: #"{"model":"e","input":"secret"}"#))
        embedding.body["input"] = "masked"
        #expect(String(buffer: embedding.upstreamBytes(model: "u")) == #"{"input":"masked","model":"u"}"#)
    }
}
