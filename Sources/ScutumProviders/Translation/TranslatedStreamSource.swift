import AsyncHTTPClient
import NIOCore
import ScutumCore

/// Splits a provider's response body into frames as the bytes arrive: SSE events for Anthropic and
/// Gemini, binary event-stream messages for Bedrock.
protocol StreamFraming: Sendable {
    associatedtype Frame
    mutating func feed(_ bytes: ByteBuffer) throws(ProviderError) -> [Frame]
    /// Whether bytes of an unfinished frame are buffered (the body must not end there).
    var hasPartialFrame: Bool { get }
}

/// Turns one provider's stream frames into OpenAI chunks, keeping whatever state the provider's
/// protocol needs (open tool calls, usage so far, the stop reason).
protocol StreamTranslator: Sendable {
    associatedtype Frame
    /// The chunks one frame becomes (often one, sometimes none or several).
    mutating func translate(_ frame: Frame) throws(ProviderError) -> [ChatCompletionChunk]
    /// Called when the body ends: the closing chunks, or an error if the provider stopped early.
    mutating func finish() throws(ProviderError) -> [ChatCompletionChunk]
    /// The provider signalled the end of the message; later bytes are ignored.
    var isComplete: Bool { get }
}

/// Server-Sent Events as frames (Anthropic, Gemini).
struct SSEFraming: StreamFraming {
    private var decoder = SSEDecoder()

    mutating func feed(_ bytes: ByteBuffer) throws(ProviderError) -> [SSEDecoder.Event] {
        try decoder.events(bytes)
    }

    var hasPartialFrame: Bool { decoder.hasPartialEvent }
}

extension SSEDecoder {
    /// `feed`, with an over-long line as a malformed-stream `ProviderError`.
    mutating func events(_ bytes: ByteBuffer) throws(ProviderError) -> [Event] {
        do {
            return try feed(bytes)
        } catch {
            throw ProviderError(.malformed, "an event-stream line exceeded \(error.maximum) bytes")
        }
    }
}

/// A provider's streaming body translated into OpenAI chunks as it arrives: each frame is
/// translated the moment it is complete, so the client sees the first token when the provider sends it.
struct TranslatedStreamSource<Framing: StreamFraming, Translator: StreamTranslator>: ChatChunkSource
where Framing.Frame == Translator.Frame {
    private var body: HTTPClientResponse.Body.AsyncIterator
    private var framing: Framing
    private var translator: Translator
    private var pending: [ChatCompletionChunk] = []
    private var pendingIndex = 0
    private var finished = false
    /// An error met while translating a batch, thrown once the chunks before it are delivered.
    private var failure: ProviderError?

    init(body: HTTPClientResponse.Body, framing: Framing, translator: Translator) {
        self.body = body.makeAsyncIterator()
        self.framing = framing
        self.translator = translator
    }

    mutating func next() async throws(ProviderError) -> ChatCompletionChunk? {
        while true {
            if pendingIndex < pending.count {
                pendingIndex += 1
                return pending[pendingIndex - 1]
            }
            if let failure {
                self.failure = nil
                throw failure
            }
            if finished || translator.isComplete {
                finished = true
                return nil
            }
            let bytes: ByteBuffer?
            do {
                bytes = try await body.next()
            } catch {
                finished = true
                throw UpstreamHTTP.providerError(for: error)
            }
            pending = []
            pendingIndex = 0
            do throws(ProviderError) {
                guard let bytes else {
                    finished = true
                    if framing.hasPartialFrame {
                        throw ProviderError(.connection, "the provider ended the stream in the middle of an event")
                    }
                    pending = try translator.finish()
                    continue
                }
                for frame in try framing.feed(bytes) {
                    pending.append(contentsOf: try translator.translate(frame))
                    if translator.isComplete { break }
                }
                // What one read brought leaves in one write: only its last chunk ends the read.
                for index in pending.indices { pending[index].endsRead = index == pending.count - 1 }
            } catch {
                finished = true
                failure = error
            }
        }
    }
}
