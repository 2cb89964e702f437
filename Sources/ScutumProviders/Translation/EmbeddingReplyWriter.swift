import Foundation
import NIOCore
import ScutumCore

/// Writes OpenAI's embeddings response (`{"object":"list","data":[...],"model","usage"}`) from
/// vectors a native provider returned, as floats or as base64 of little-endian float32 as the
/// client asked (`encoding_format`; the OpenAI SDKs ask for base64 by default).
enum EmbeddingReplyWriter {
    static func response(vectors: [[Double]], model: String, promptTokens: Int, base64: Bool) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeStaticString(#"{"object":"list","data":["#)
        for (index, vector) in vectors.enumerated() {
            if index > 0 { buffer.writeStaticString(",") }
            buffer.writeStaticString(#"{"object":"embedding","index":"#)
            buffer.writeString(String(index))
            buffer.writeStaticString(#","embedding":"#)
            if base64 {
                var floats = ByteBuffer()
                for value in vector { floats.writeInteger(Float(value).bitPattern, endianness: .little) }
                buffer.writeJSONQuoted(Data(floats.readableBytesView).base64EncodedString())
            } else {
                buffer.writeJSON(.array(vector.map(JSONValue.double)))
            }
            buffer.writeStaticString("}")
        }
        buffer.writeStaticString(#"],"model":"#)
        buffer.writeJSONQuoted(model)
        buffer.writeStaticString(#","usage":{"prompt_tokens":"#)
        buffer.writeString(String(promptTokens))
        buffer.writeStaticString(#","total_tokens":"#)
        buffer.writeString(String(promptTokens))
        buffer.writeStaticString("}}")
        return buffer
    }

    /// The request's inputs as texts; token-id inputs cannot be sent to providers with other tokenizers.
    static func texts(_ request: EmbeddingRequest) throws(ProviderError) -> [String] {
        switch request.body["input"] {
        case .string(let text)?: return [text]
        case .array(let items)?:
            let texts = items.compactMap(\.stringValue)
            if texts.count == items.count { return texts }
        default: break
        }
        throw ProviderError(.invalidRequest(param: "input"),
            "This model takes text input only (a string or an array of strings), not token ids.")
    }

    /// Whether the client asked for base64 vectors.
    static func wantsBase64(_ request: EmbeddingRequest) -> Bool {
        request.body["encoding_format"]?.stringValue == "base64"
    }

    /// Reads a JSON array of numbers as a vector.
    static func vector(_ value: JSONValue?) throws(ProviderError) -> [Double] {
        guard let items = value?.arrayValue else { throw ProviderError(.malformed, "an embedding is not an array") }
        var vector: [Double] = []
        vector.reserveCapacity(items.count)
        for item in items {
            guard let number = item.doubleValue else { throw ProviderError(.malformed, "an embedding holds a non-number") }
            vector.append(number)
        }
        return vector
    }

    /// A token estimate for providers that do not report one (about four bytes per token).
    static func estimatedTokens(_ texts: [String]) -> Int {
        texts.reduce(0) { $0 + max(1, ($1.utf8.count + 3) / 4) }
    }
}
