import Foundation
import ScutumCore
import Testing

@Suite("Error JSON and request parsing")
struct GatewayErrorTests {
    func text(_ error: GatewayError) -> String { String(decoding: error.jsonData(), as: UTF8.self) }

    @Test("error JSON has OpenAI's shape, sorted keys, exact bytes")
    func exactBytes() {
        #expect(text(.missingParameter("model")) ==
            #"{"error":{"code":"missing_required_parameter","message":"Missing required parameter: 'model'.","param":"model","type":"invalid_request_error"}}"#
        )
    }

    @Test("absent param and code are written as null, not omitted")
    func nulls() {
        let error = GatewayError(status: 500, message: "boom", type: "api_error")
        #expect(text(error) == #"{"error":{"code":null,"message":"boom","param":null,"type":"api_error"}}"#)
        #expect(text(.invalidJSON("x")) ==
            #"{"error":{"code":"invalid_json","message":"We could not parse the JSON body of your request: x. The body must be a JSON object.","param":null,"type":"invalid_request_error"}}"#
        )
    }

    @Test("messages are escaped as JSON strings; slashes are not escaped")
    func escaping() throws {
        let error = GatewayError(
            status: 404, message: "Unknown \"model\" a/b\nline\u{1}", type: "invalid_request_error", param: "mo\"del")
        #expect(text(error) ==
            #"{"error":{"code":null,"message":"Unknown \"model\" a/b\nline\u0001","param":"mo\"del","type":"invalid_request_error"}}"#
        )
        let decoded = try JSONDecoder().decode(GatewayError.ErrorBody.self, from: error.jsonData())
        #expect(decoded == error.body)
        #expect(decoded.error.message == "Unknown \"model\" a/b\nline\u{1}")
        #expect(decoded.error.code == nil)
    }

    @Test("the route-not-found error keeps the path's slashes readable")
    func routeNotFound() {
        let error = GatewayError.routeNotFound(method: "GET", path: "/v1/nope")
        #expect(error.status == 404)
        #expect(text(error) ==
            #"{"error":{"code":"unknown_url","message":"Unknown request URL: GET /v1/nope.","param":null,"type":"invalid_request_error"}}"#
        )
    }

    @Test("each constructor has the right status, type and code")
    func constructors() {
        #expect(GatewayError.missingAPIKey.status == 401)
        #expect(GatewayError.missingAPIKey.type == "authentication_error")
        #expect(GatewayError.missingAPIKey.code == "missing_api_key")
        #expect(GatewayError.missingAPIKey.headers["WWW-Authenticate"] == "Bearer")
        #expect(GatewayError.invalidAPIKey().status == 401)
        #expect(GatewayError.invalidAPIKey().code == "invalid_api_key")
        #expect(GatewayError.invalidAPIKey("blocked").message == "blocked")
        #expect(GatewayError.invalidAPIKey().headers["WWW-Authenticate"] == "Bearer")

        let notFound = GatewayError.modelNotFound("gpt-9")
        #expect(notFound.status == 404)
        #expect(notFound.param == "model")
        #expect(notFound.code == "model_not_found")
        #expect(notFound.message.contains("'gpt-9'"))

        let wrongMode = GatewayError.wrongModelMode("embed", expected: "chat")
        #expect(wrongMode.status == 400)
        #expect(wrongMode.code == "model_not_supported")
        #expect(wrongMode.message == "The model 'embed' is not a chat model.")

        #expect(GatewayError.requestTooLarge(limit: 10).status == 413)
        #expect(GatewayError.requestTooLarge(limit: 10).message.contains("10 bytes"))
        #expect(GatewayError.noDeployment("x").status == 503)
        #expect(GatewayError.noDeployment("x").type == "service_unavailable")
        #expect(GatewayError.noDeployment("x").code == "no_available_deployment")
        #expect(GatewayError.internalError("x").status == 500)
        #expect(GatewayError.internalError("x").type == "api_error")
        #expect(GatewayError.invalidRequest("x").code == "invalid_value")
        #expect(GatewayError.invalidRequest("x").param == nil)
    }
}

@Suite("RequestJSON and JSONValue")
struct RequestJSONTests {
    @Test("an empty body is invalid_json")
    func empty() {
        #expect(throws: GatewayError.invalidJSON("the body is empty")) {
            try RequestJSON.parse([UInt8]())
        }
    }

    @Test("malformed bodies are invalid_json with a detail", arguments: ["{", "}", "{\"a\":}", "tru", "[1,", "\u{FF}"])
    func malformed(_ body: String) {
        do {
            let value = try RequestJSON.parse(Array(body.utf8))
            Issue.record("parsed \(body) as \(value)")
        } catch {
            #expect(error.status == 400)
            #expect(error.code == "invalid_json")
            #expect(error.param == nil)
            #expect(error.message.hasPrefix("We could not parse the JSON body of your request: "))
            // A detail says what is wrong; the bare frame would not.
            #expect(error.message != "We could not parse the JSON body of your request: . The body must be a JSON object.")
            #expect(error.message.hasSuffix(". The body must be a JSON object."))
        }
    }

    @Test("invalid UTF-8 bytes are invalid_json")
    func invalidUTF8() {
        #expect(throws: GatewayError.self) {
            try RequestJSON.parse([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D])
        }
    }

    @Test("every JSON type decodes to its own case")
    func types() throws {
        let value = try RequestJSON.parse(Array(
            #"{"i":1,"neg":-7,"d":1.5,"t":true,"f":false,"n":null,"s":"x\u00e9","a":[1,"b",[]],"o":{"k":{}},"big":1e300}"#
                .utf8))
        #expect(value["i"] == .int(1))
        #expect(value["neg"] == .int(-7))
        #expect(value["d"] == .double(1.5))
        #expect(value["t"] == .bool(true))
        #expect(value["f"] == .bool(false))
        #expect(value["n"] == .null)
        #expect(value["s"] == .string("xé"))
        #expect(value["a"] == .array([.int(1), .string("b"), .array([])]))
        #expect(value["o"] == .object(["k": .object([:])]))
        #expect(value["big"] == .double(1e300))
        #expect(value["missing"] == nil)
        #expect(value["i"]?.typeName == "number")
        #expect(value["n"]?.typeName == "null")
        #expect(value["o"]?.typeName == "object")
    }

    @Test("accessors convert only what they should")
    func accessors() {
        #expect(JSONValue.int(3).doubleValue == 3)
        #expect(JSONValue.double(3).intValue == 3)
        #expect(JSONValue.double(3.5).intValue == nil)
        #expect(JSONValue.double(1e20).intValue == nil)
        #expect(JSONValue.string("3").intValue == nil)
        #expect(JSONValue.bool(true).intValue == nil)
        #expect(JSONValue.int(1).boolValue == nil)
        #expect(JSONValue.null.isNull)
        #expect(!JSONValue.string("").isNull)
        #expect(JSONValue.string("a")["k"] == nil)
    }

    @Test("values survive an encode/decode round trip")
    func roundTrip() throws {
        let value: JSONValue = ["a": [1, 2.5, "s", true, nil, ["nested": [:]]], "b": -1]
        let decoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        #expect(decoded == value)
    }
}

@Suite("Token usage")
struct TokenUsageTests {
    @Test("OpenAI's usage object maps to TokenUsage")
    func wire() throws {
        let json = #"{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":3}}"#
        let usage = try #require(TokenUsage(openAI: try JSONParser.parse(Array(json.utf8))))
        #expect(usage == TokenUsage(promptTokens: 10, completionTokens: 5, cachedTokens: 3))
        #expect(usage.totalTokens == 15)
        let partial = try #require(TokenUsage(openAI: ["prompt_tokens": 4]))
        #expect(TokenUsage(openAI: "not an object") == nil)
        #expect(partial == TokenUsage(promptTokens: 4, completionTokens: 0))
        #expect(partial.cachedTokens == nil)
    }
}
