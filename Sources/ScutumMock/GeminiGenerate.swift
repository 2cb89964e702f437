import HTTPTypes
import Hummingbird

/// The Gemini API (`POST /v1beta/models/{model}:generateContent|streamGenerateContent|embedContent|
/// batchEmbedContents`), whose request and response bodies Vertex AI shares.
enum GeminiGenerate {
    static let unregisteredCaller = "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."

    static func register(on router: Router<BasicRequestContext>, knobs: MockKnobs, log: MockRequestLog?) {
        for version in ["v1beta", "v1"] {
            // `{model}:method` is one path segment, so the route captures it whole.
            router.post(RouterPath("/\(version)/models/{target}")) { request, context in
                let bytes = try await MockUpstream.record(request, log: log)
                let key = request.headers[HTTPField.Name("x-goog-api-key")!] ?? request.uri.queryParameters.get("key")
                guard let key, !key.isEmpty else { return ProviderErrors.google(status: 403, message: unregisteredCaller) }
                let (model, method) = split(MockUpstream.pathParameter(context, "target"))
                let sse = request.uri.queryParameters.get("alt") == "sse"
                switch method {
                case "generateContent":
                    return try await serve(bytes, model: model, stream: false, sse: false, vertex: false, knobs: knobs)
                case "streamGenerateContent":
                    return try await serve(bytes, model: model, stream: true, sse: sse, vertex: false, knobs: knobs)
                case "embedContent", "batchEmbedContents":
                    return try await GeminiEmbeddings.serve(bytes, model: model, batch: method == "batchEmbedContents", knobs: knobs)
                default:
                    return notFound(model: model, method: method, version: version)
                }
            }
        }
    }

    /// `gemini-2.0-flash:generateContent` → (`gemini-2.0-flash`, `generateContent`).
    static func split(_ target: String) -> (model: String, method: String) {
        guard let colon = target.lastIndex(of: ":") else { return (target, "") }
        return (String(target[..<colon]), String(target[target.index(after: colon)...]))
    }

    static func notFound(model: String, method: String, version: String) -> Response {
        ProviderErrors.google(status: 404, message: "models/\(model) is not found for API version \(version), or is not supported for \(method). Call ListModels to see the list of available models and their supported methods.")
    }

    /// Parses, validates and answers a GenerateContentRequest; `sse` streams `alt=sse` events,
    /// otherwise a stream is one JSON array.
    static func serve(_ bytes: [UInt8], model: String, stream: Bool, sse: Bool, vertex: Bool, knobs: MockKnobs) async throws -> Response {
        guard let body = JSONText.object(bytes) else {
            return ProviderErrors.google(status: 400, message: "Invalid JSON payload received. Unexpected token.")
        }
        if let problem = validate(body, vertex: vertex) { return ProviderErrors.google(status: 400, message: problem) }
        let turn = turn(body)
        let directives = MockDirectives(knobs: knobs, text: turn.allText)
        if let failure = try await MockUpstream.misbehave(directives, fail: { ProviderErrors.google(status: $0, retryAfter: $1) }) {
            return failure
        }
        let reply = GeminiReply(model: model, answer: MockAnswer(turn: turn, directives: directives))
        if stream { return GeminiStream.response(reply, sse: sse, stream: MockStream(directives)) }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=UTF-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: reply.chunkJSON(parts: reply.partsJSON, final: true))))
    }

    /// Every field a `Part` may carry, in both spellings the API accepts.
    static let partFields: Set<String> = Set(["text", "inlineData", "fileData", "functionCall", "functionResponse",
        "executableCode", "codeExecutionResult", "thought", "thoughtSignature", "videoMetadata", "partMetadata",
        "mediaResolution"].flatMap { [$0, GoogleJSON.snakeCase($0)] })
    /// The fields of a `Part`'s `data` oneof: one must be set.
    static let dataFields: Set<String> = Set(["text", "inlineData", "fileData", "functionCall", "functionResponse",
        "executableCode", "codeExecutionResult"].flatMap { [$0, GoogleJSON.snakeCase($0)] })

    /// The first rule of the real API that `body` breaks, as Google words it. Vertex AI also
    /// requires a role on every content.
    static func validate(_ body: [String: Any], vertex: Bool) -> String? {
        guard let contents = GoogleJSON.field(body, "contents") as? [[String: Any]], !contents.isEmpty else {
            return "* GenerateContentRequest.contents: contents is not specified\n"
        }
        for (index, content) in contents.enumerated() {
            let role = content["role"] as? String
            if role.map({ $0 != "user" && $0 != "model" }) ?? vertex { return "Please use a valid role: user, model." }
            guard let parts = content["parts"] as? [[String: Any]], !parts.isEmpty else {
                return "* GenerateContentRequest.contents[\(index)].parts: contents.parts must not be empty.\n"
            }
            for (position, part) in parts.enumerated() {
                if let unknown = part.keys.sorted().first(where: { !partFields.contains($0) }) {
                    return "Invalid JSON payload received. Unknown name \"\(unknown)\" at 'contents[\(index)].parts[\(position)]': Cannot find field."
                }
                if !part.keys.contains(where: { dataFields.contains($0) }) {
                    return "* GenerateContentRequest.contents[\(index)].parts[\(position)].data: required oneof field 'data' must have one initialized field\n"
                }
            }
        }
        return nil
    }

    /// The parts of a GenerateContentRequest that the mock looks at.
    static func turn(_ body: [String: Any]) -> MockChatTurn {
        var turn = MockChatTurn()
        turn.systemText = text(of: (GoogleJSON.field(body, "systemInstruction") as? [String: Any])?["parts"])
        let contents = GoogleJSON.field(body, "contents") as? [[String: Any]] ?? []
        for content in contents {
            let text = text(of: content["parts"])
            turn.messageTexts.append(text)
            if (content["role"] as? String ?? "user") == "user" { turn.lastUserText = text }
        }
        if let last = contents.last, (last["role"] as? String ?? "user") == "user", let parts = last["parts"] as? [[String: Any]] {
            let responses = parts.compactMap { GoogleJSON.field($0, "functionResponse") as? [String: Any] }
            if !responses.isEmpty { turn.toolResult = responses.map { MockChatTurn.describe($0["response"]) }.joined(separator: "\n") }
        }
        let tools = GoogleJSON.field(body, "tools") as? [[String: Any]] ?? []
        turn.firstToolName = tools.lazy
            .compactMap { (GoogleJSON.field($0, "functionDeclarations") as? [[String: Any]])?.first?["name"] as? String }.first
        let config = GoogleJSON.field(body, "generationConfig") as? [String: Any]
        turn.maxTokens = GoogleJSON.field(config, "maxOutputTokens") as? Int
        turn.stopSequences = GoogleJSON.field(config, "stopSequences") as? [String] ?? []
        turn.jsonAnswer = (GoogleJSON.field(config, "responseMimeType") as? String)?.lowercased() == "application/json"
        return turn
    }

    /// The text of `parts`: text parts and function responses.
    static func text(of parts: Any?) -> String {
        (parts as? [[String: Any]] ?? []).compactMap { part -> String? in
            if let text = part["text"] as? String { return text }
            if let response = GoogleJSON.field(part, "functionResponse") as? [String: Any] {
                return MockChatTurn.describe(response["response"])
            }
            return nil
        }.joined(separator: " ")
    }
}

/// Google's JSON accepts every field in lowerCamelCase or snake_case.
enum GoogleJSON {
    static func field(_ object: [String: Any]?, _ name: String) -> Any? {
        guard let object else { return nil }
        return object[name] ?? object[snakeCase(name)]
    }

    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
        return result
    }
}
