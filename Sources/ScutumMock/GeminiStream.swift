import HTTPTypes
import Hummingbird
import NIOCore

/// One answer as Gemini's GenerateContentResponse objects.
struct GeminiReply: Sendable {
    var model: String
    var answer: MockAnswer
    var responseID = JSONText.randomID(22)

    var finishReason: String {
        switch answer.ending {
        case .maxTokens: "MAX_TOKENS"
        case .blocked: "SAFETY"
        default: "STOP"
        }
    }

    /// The whole answer's parts; nil when the answer was blocked (no content).
    var partsJSON: String? {
        switch answer.ending {
        case .blocked: nil
        case .toolCall(let name): #"[{"functionCall":{"name":\#(JSONText.quote(name)),"args":\#(MockAnswer.toolArguments)}}]"#
        default: #"[{"text":\#(JSONText.quote(answer.text))}]"#
        }
    }

    /// `usageMetadata`; like Google, zero counts are left out.
    var usageJSON: String {
        var fields = [#""promptTokenCount":\#(answer.promptTokens)"#]
        if answer.outputTokens > 0 { fields.append(#""candidatesTokenCount":\#(answer.outputTokens)"#) }
        fields.append(#""totalTokenCount":\#(answer.promptTokens + answer.outputTokens + answer.reasoningTokens)"#)
        if answer.cachedTokens > 0 { fields.append(#""cachedContentTokenCount":\#(answer.cachedTokens)"#) }
        if answer.reasoningTokens > 0 { fields.append(#""thoughtsTokenCount":\#(answer.reasoningTokens)"#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static let blockedRatings = #"[{"category":"HARM_CATEGORY_SEXUALLY_EXPLICIT","probability":"NEGLIGIBLE"},{"category":"HARM_CATEGORY_HATE_SPEECH","probability":"NEGLIGIBLE"},{"category":"HARM_CATEGORY_HARASSMENT","probability":"NEGLIGIBLE"},{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]"#

    /// A GenerateContentResponse with `parts`; the `final` one has the finish reason and usage.
    func chunkJSON(parts: String?, final: Bool) -> String {
        var candidate: [String] = []
        if let parts { candidate.append(#""content":{"parts":\#(parts),"role":"model"}"#) }
        if final {
            candidate.append(#""finishReason":"\#(finishReason)""#)
            if answer.ending == .blocked { candidate.append(#""safetyRatings":\#(Self.blockedRatings)"#) }
        }
        candidate.append(#""index":0"#)
        var json = #"{"candidates":[{\#(candidate.joined(separator: ","))}]"#
        if final { json += #","usageMetadata":\#(usageJSON)"# }
        return json + #","modelVersion":\#(JSONText.quote(model)),"responseId":"\#(responseID)"}"#
    }

    /// The stream's responses: one per text token (the last one finishing), or one for a
    /// function call or a blocked answer.
    var chunks: [String] {
        guard answer.toolName == nil, answer.ending != .blocked, !answer.tokens.isEmpty else {
            return [chunkJSON(parts: partsJSON, final: true)]
        }
        return answer.tokens.enumerated().map { index, token in
            chunkJSON(parts: #"[{"text":\#(JSONText.quote(token))}]"#, final: index == answer.tokens.count - 1)
        }
    }
}

/// Gemini's streamed answer: `alt=sse` events (`data: {...}\r\n\r\n`, no terminator; the stream
/// just ends), or without `alt=sse` one JSON array written element by element.
enum GeminiStream {
    static func response(_ reply: GeminiReply, sse: Bool, stream: MockStream) -> Response {
        let chunks = reply.chunks.enumerated().map { index, json in
            ByteBuffer(string: sse ? "data: \(json)\r\n\r\n" : (index == 0 ? "[" : ",\r\n") + json)
        }
        let malformed = ByteBuffer(string: sse ? "data: {\"candidates\": oops\r\n\r\n" : ",\r\n{\"candidates\": oops")
        let headers: HTTPFields = sse
            ? [.contentType: "text/event-stream", .cacheControl: "no-cache"]
            : [.contentType: "application/json; charset=UTF-8"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await stream.start()
            _ = try await stream.write(chunks, to: &writer, malformed: malformed)
            if !sse { try await writer.write(ByteBuffer(string: "]")) }
            try await writer.finish(nil)
        })
    }
}
