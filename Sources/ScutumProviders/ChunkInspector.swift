import NIOCore
import ScutumCore

/// Cheap byte-level work on OpenAI-format JSON objects that the gateway passes through:
/// rewriting the top-level `model`, and spotting usage and errors without decoding every chunk.
///
/// The searches look for unescaped `"key":` sequences; inside JSON strings quotes are always
/// escaped, so message text can never match.
enum ChunkInspector {
    /// Replaces the value of the first `"model": "..."` with `name`.
    static func rewriteModel(in json: ByteBuffer, to name: String) -> ByteBuffer {
        guard let key = json.firstOffset(of: #""model""#) else { return json }
        var offset = json.skippingWhitespace(from: key + 7)
        guard json.byte(at: offset) == UInt8(ascii: ":") else { return json }
        offset = json.skippingWhitespace(from: offset + 1)
        guard json.byte(at: offset) == UInt8(ascii: "\"") else { return json }
        let valueStart = offset
        offset += 1
        while let byte = json.byte(at: offset), byte != UInt8(ascii: "\"") {
            offset += byte == UInt8(ascii: "\\") ? 2 : 1
        }
        guard json.byte(at: offset) == UInt8(ascii: "\"") else { return json }
        let valueEnd = offset + 1
        var out = ByteBuffer()
        out.reserveCapacity(json.readableBytes + name.utf8.count)
        out.writeImmutableBuffer(json.getSlice(at: json.readerIndex, length: valueStart)!)
        out.writeJSONQuoted(name)
        out.writeImmutableBuffer(
            json.getSlice(at: json.readerIndex + valueEnd, length: json.readableBytes - valueEnd)!)
        return out
    }

    /// Whether the object looks like one JSON object (`{` ... `}`), the cheap per-chunk sanity check.
    static func looksLikeObject(_ json: ByteBuffer) -> Bool {
        let first = json.skippingWhitespace(from: 0)
        guard json.byte(at: first) == UInt8(ascii: "{") else { return false }
        var last = json.readableBytes - 1
        while last > first, let byte = json.byte(at: last),
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
        {
            last -= 1
        }
        return json.byte(at: last) == UInt8(ascii: "}")
    }

    /// Usage, if the object carries a non-null `usage`, and whether it has an empty `choices` array.
    static func usage(in json: ByteBuffer) throws(ProviderError) -> (usage: TokenUsage?, usageOnly: Bool) {
        guard let key = json.firstOffset(of: #""usage""#) else { return (nil, false) }
        var offset = json.skippingWhitespace(from: key + 7)
        guard json.byte(at: offset) == UInt8(ascii: ":") else { return (nil, false) }
        offset = json.skippingWhitespace(from: offset + 1)
        guard json.byte(at: offset) == UInt8(ascii: "{") else { return (nil, false) }
        guard let object = JSONValue.parse(json), let tokens = object["usage"].flatMap(TokenUsage.init(openAI:)) else {
            throw ProviderError(.malformed, "the response's usage is not valid JSON")
        }
        return (tokens, object["choices"]?.arrayValue?.isEmpty ?? false)
    }

    /// The message of a top-level `{"error": {...}}` object, if this is one.
    static func errorMessage(in json: ByteBuffer) -> String? {
        guard let key = json.firstOffset(of: #""error""#) else { return nil }
        guard json.skippingWhitespace(from: 1) == key else { return nil }
        return JSONValue.parse(json)?["error"]?["message"]?.stringValue ?? "the provider reported an error"
    }
}
