import HTTPTypes
import Hummingbird
import Foundation
import NIOCore

/// Anthropic's streamed Messages answer: named SSE events `message_start`, `content_block_start`,
/// `ping`, `content_block_delta`..., `content_block_stop`, `message_delta`, `message_stop`.
enum AnthropicStream {
    /// One `event: NAME\ndata: JSON\n\n` frame.
    static func event(_ name: String, _ json: String) -> ByteBuffer {
        ByteBuffer(string: "event: \(name)\ndata: \(json)\n\n")
    }

    /// Bedrock's InvokeModelWithResponseStream framing of the same events: each an event-stream
    /// `chunk` whose `bytes` are the event's JSON in base64.
    static func bedrockChunk(_ json: String, corrupt: Bool = false) -> ByteBuffer {
        let encoded = Data(json.utf8).base64EncodedString()
        return ByteBuffer(bytes: EventStreamWriter.event("chunk", json: #"{"bytes":"\#(encoded)"}"#, corruptMessageCRC: corrupt))
    }

    static func response(_ reply: AnthropicMessages.Reply, stream: MockStream, bedrock: Bool = false) -> Response {
        var headers: HTTPFields = bedrock ? [.contentType: "application/vnd.amazon.eventstream"] : MockResponses.eventStreamHeaders
        headers.append(contentsOf: reply.headers)
        @Sendable func event(_ name: String, _ json: String) -> ByteBuffer {
            bedrock ? bedrockChunk(json) : Self.event(name, json)
        }
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await stream.start()
            try await writer.write(event("message_start", #"{"type":"message_start","message":\#(reply.messageJSON(streaming: true))}"#))
            var index = 0
            if reply.thinking && reply.answer.ending != .blocked {
                try await writer.write(event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#))
                try await writer.write(event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":\#(JSONText.quote(AnthropicMessages.Reply.thoughts))}}"#))
                try await writer.write(event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"\#(reply.signature)"}}"#))
                try await writer.write(event("content_block_stop", #"{"type":"content_block_stop","index":0}"#))
                index = 1
            }
            if reply.answer.ending != .blocked {
                let block: String
                let deltas: [String]
                if let name = reply.answer.toolName {
                    block = #"{"type":"tool_use","id":"\#(reply.toolUseID)","name":\#(JSONText.quote(name)),"input":{}}"#
                    deltas = ([""] + MockAnswer.pieces(of: MockAnswer.toolArguments, count: 3))
                        .map { #"{"type":"input_json_delta","partial_json":\#(JSONText.quote($0))}"# }
                } else {
                    block = #"{"type":"text","text":""}"#
                    deltas = reply.answer.tokens.map { #"{"type":"text_delta","text":\#(JSONText.quote($0))}"# }
                }
                try await writer.write(event("content_block_start", #"{"type":"content_block_start","index":\#(index),"content_block":\#(block)}"#))
                try await writer.write(event("ping", #"{"type":"ping"}"#))
                let chunks = deltas.map { event("content_block_delta", #"{"type":"content_block_delta","index":\#(index),"delta":\#($0)}"#) }
                let completed = try await stream.write(chunks, to: &writer,
                    malformed: bedrock ? bedrockChunk("{}", corrupt: true)
                        : ByteBuffer(string: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",oops\n\n"),
                    error: bedrock ? ByteBuffer(bytes: EventStreamWriter.exception("throttlingException", message: "Too many requests"))
                        : event("error", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#))
                guard completed else { return }
                try await writer.write(event("content_block_stop", #"{"type":"content_block_stop","index":\#(index)}"#))
            } else {
                try await writer.write(event("ping", #"{"type":"ping"}"#))
            }
            let delta = #"{"stop_reason":"\#(reply.stopReason)","stop_sequence":\#(reply.stopSequenceJSON)}"#
            try await writer.write(event("message_delta", #"{"type":"message_delta","delta":\#(delta),"usage":{"output_tokens":\#(reply.answer.outputTokens)}}"#))
            try await writer.write(event("message_stop", #"{"type":"message_stop"}"#))
            try await writer.finish(nil)
        })
    }
}
