import HTTPTypes
import Hummingbird
import NIOCore

/// Bedrock's ConverseStream answer as event-stream messages: `messageStart`, (`contentBlockStart`
/// for a tool call), `contentBlockDelta`..., `contentBlockStop`, `messageStop`, `metadata`. Like
/// AWS, every payload carries a random-length padding field `p`.
enum BedrockStream {
    static let throttled = "Too many requests, please wait before trying again."

    /// AWS's padding: a prefix of this alphabet of random length.
    static func padding() -> String {
        String("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".prefix(Int.random(in: 1...62)))
    }

    static func event(_ type: String, _ fields: String, corrupt: Bool = false) -> ByteBuffer {
        ByteBuffer(bytes: EventStreamWriter.event(type, json: "{" + fields + #","p":"\#(padding())"}"#, corruptMessageCRC: corrupt))
    }

    static func response(_ reply: BedrockReply, stream: MockStream) -> Response {
        var headers: HTTPFields = [.contentType: "application/vnd.amazon.eventstream"]
        headers.append(contentsOf: reply.headers)
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await stream.start()
            try await writer.write(event("messageStart", #""role":"assistant""#))
            if reply.answer.ending != .blocked {
                var deltas: [String]
                if let name = reply.answer.toolName {
                    let start = #""contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"\#(reply.toolUseID)","name":\#(JSONText.quote(name))}}"#
                    try await writer.write(event("contentBlockStart", start))
                    deltas = MockAnswer.pieces(of: MockAnswer.toolArguments, count: 3).map { #"{"toolUse":{"input":\#(JSONText.quote($0))}}"# }
                } else {
                    deltas = reply.answer.tokens.map { #"{"text":\#(JSONText.quote($0))}"# }
                }
                let chunks = deltas.map { event("contentBlockDelta", #""contentBlockIndex":0,"delta":\#($0)"#) }
                let completed = try await stream.write(chunks, to: &writer,
                    malformed: event("contentBlockDelta", #""contentBlockIndex":0,"delta":{"text":"corrupted"}"#, corrupt: true),
                    error: ByteBuffer(bytes: EventStreamWriter.exception("throttlingException", message: throttled)))
                guard completed else { return }
                try await writer.write(event("contentBlockStop", #""contentBlockIndex":0"#))
            }
            try await writer.write(event("messageStop", #""stopReason":"\#(reply.stopReason)""#))
            try await writer.write(event("metadata", #""usage":\#(reply.usageJSON),"metrics":\#(reply.metricsJSON)"#))
            try await writer.finish(nil)
        })
    }
}
