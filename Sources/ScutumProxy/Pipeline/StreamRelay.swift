import Hummingbird
import Logging
import NIOCore
import ScutumCore
import ScutumGuardrails
import ScutumProviders
import Synchronization

/// A streamed chat completion on its way to the client, settled exactly once however it ends:
/// delivered, the client gone (before the response head or after some chunks), the provider
/// failing mid-way, or an output guardrail blocking it.
///
/// Nothing is free: when the client leaves, or a guardrail stops the answer, the provider keeps
/// generating and bills for it, so the relay keeps reading the upstream (at most `drainLimit`) to
/// its usage. Without the provider's usage (no usage chunk, the drain limit reached, the provider
/// failing) the request is charged an estimate: the prompt at four bytes a token plus the
/// completion counted from the text the provider had sent (`StreamTally`).
///
/// The spend row's status says how the stream ended: 200 delivered, 499 the client closed the
/// connection (nginx's code), 502 the provider failed mid-way, the guardrail error's status when a
/// guardrail blocked it.
final class StreamRelay<Encoder: StreamEncoder>: Sendable {
    // Sendable: the stream is consumed by one task only, either `write` or the drain `deinit`
    // starts when `write` never ran; `started` decides which.
    let stream: ChatCompletionStream
    let settlement: StreamSettlement
    let includeUsage: Bool
    /// How chunks reach the client: OpenAI's own, or another API's events.
    let encoder: Encoder
    let profiles: [GuardrailPolicy.Profile]
    let guardrails: GuardrailGate?
    let logger: Logger
    /// Given the whole answer (a `chat.completion` put back together) and its usage once the stream
    /// was delivered whole: the response cache's store.
    let keep: (@Sendable (ByteBuffer, TokenUsage?) -> Void)?
    private let started = Atomic<Bool>(false)

    init(stream: ChatCompletionStream, settlement: StreamSettlement, includeUsage: Bool, encoder: Encoder,
        profiles: [GuardrailPolicy.Profile], guardrails: GuardrailGate?, logger: Logger,
        keep: (@Sendable (ByteBuffer, TokenUsage?) -> Void)? = nil)
    {
        self.keep = keep
        self.stream = stream
        self.settlement = settlement
        self.includeUsage = includeUsage
        self.encoder = encoder
        self.profiles = profiles
        self.guardrails = guardrails
        self.logger = logger
    }

    /// The response body was dropped unwritten (the client left before the head was sent): the
    /// upstream is read to its usage in the background and the request settled as client-gone.
    deinit {
        guard !started.load(ordering: .acquiring) else { return }
        let (stream, settlement) = (self.stream, self.settlement)
        Task {
            var iterator = stream.makeAsyncIterator()
            var tally = StreamTally()
            await settlement.drain(&iterator, into: &tally)
            settlement.settle(tally, ending: .clientGone)
        }
    }

    /// Writes the stream as Server-Sent Events, one write per upstream read, then settles.
    func write(to writer: inout any ResponseBodyWriter) async throws {
        started.store(true, ordering: .releasing)
        var iterator = stream.makeAsyncIterator()
        var tally = StreamTally()
        var filter = GuardrailStreamFilter(profiles: profiles)
        defer { if let filter { guardrails?.record(filter, subject: settlement.ledger.guardrailSubject) } }
        var out = ByteBuffer()
        var encoder = self.encoder
        var assembler = keep == nil ? nil : CompletionAssembler()
        let ending: StreamSettlement.Ending
        do {
            ending = try await relay(&iterator, tally: &tally, filter: &filter, encoder: &encoder, assembler: &assembler,
                out: &out, to: &writer)
        } catch let error as ProviderError {
            settlement.settle(tally, ending: .upstreamFailed)
            logger.warning("stream failed mid-way",
                metadata: ["model": "\(settlement.target.deployment.name)", "error": "\(error.message)"])
            // The status line is gone: the failure goes as a final event, without [DONE], so
            // clients see an error rather than a silently truncated answer.
            encoder.appendFailure(error.gatewayError(model: settlement.target.deployment.name), to: &out)
            try await writer.write(out)
            try await writer.finish(nil)
            return
        } catch {
            // The client is gone (a write failed): the provider is still generating.
            await settlement.drain(&iterator, into: &tally)
            settlement.settle(tally, ending: .clientGone)
            throw error
        }
        if case .guardrailBlocked = ending { await settlement.drain(&iterator, into: &tally) }
        settlement.settle(tally, ending: ending)
        if case .completed = ending, let keep, let completion = assembler?.completion() { keep(completion, tally.usage) }
        // Delivered whole: settled as such even if the connection fails while the response ends.
        if case .completed = ending { try await writer.finish(nil) }
    }

    /// Relays chunks until the stream ends (its last bytes written, the response not yet ended) or a
    /// guardrail blocks it. Throws `ProviderError` when the provider fails, anything else when the
    /// client is gone.
    private func relay(_ iterator: inout ChatCompletionStream.AsyncIterator, tally: inout StreamTally,
        filter: inout GuardrailStreamFilter?, encoder: inout Encoder, assembler: inout CompletionAssembler?,
        out: inout ByteBuffer, to writer: inout any ResponseBodyWriter)
        async throws -> StreamSettlement.Ending
    {
        while let chunk = try await iterator.next() {
            tally.add(chunk)
            if assembler != nil, !chunk.native { assembler!.add(chunk.json) }
            if chunk.native {
                // The provider's own events go on as they came; they are only taken when no output
                // guardrail applies (the filter reads OpenAI chunks).
                encoder.appendNative(chunk.json, to: &out)
                if chunk.endsRead { try await Self.flush(&out, to: &writer) }
                continue
            }
            if chunk.isUsageOnly && !includeUsage { continue }
            var json = chunk.json
            if filter != nil, !chunk.isUsageOnly {
                switch filter!.filter(json) {
                case .send(let filtered): json = filtered
                case .block(let block):
                    try await Self.writeBlock(block, encoder: encoder, out: &out, to: &writer, logger: logger)
                    return .guardrailBlocked(status: block.error.status)
                }
            }
            encoder.append(json, usage: chunk.usage, isUsageOnly: chunk.isUsageOnly, to: &out)
            if chunk.endsRead { try await Self.flush(&out, to: &writer) }
        }
        switch filter?.finish() {
        case .send(let held)?: encoder.append(held, usage: nil, isUsageOnly: false, to: &out)
        case .block(let block)?:
            try await Self.writeBlock(block, encoder: encoder, out: &out, to: &writer, logger: logger)
            return .guardrailBlocked(status: block.error.status)
        case nil: break
        }
        await encoder.completing()
        encoder.appendEnd(to: &out)
        try await Self.flush(&out, to: &writer)
        return .completed
    }

    /// Writes what `out` holds in one write and starts a new buffer.
    static func flush(_ out: inout ByteBuffer, to writer: inout any ResponseBodyWriter) async throws {
        guard out.readableBytes > 0 else { return }
        try await writer.write(out)
        out = ByteBuffer()
    }

    /// Ends a stream an output guardrail blocked: what was held, then its error as the last event
    /// (no normal end).
    static func writeBlock(_ block: GuardrailBlock, encoder: Encoder, out: inout ByteBuffer,
        to writer: inout any ResponseBodyWriter, logger: Logger) async throws
    {
        logger.info("stream blocked by an output guardrail",
            metadata: ["guardrail": "\(block.profile)", "scanner": "\(block.finding.scanner.rawValue)"])
        encoder.appendFailure(block.error, to: &out)
        try await flush(&out, to: &writer)
        try await writer.finish(nil)
    }
}

/// Settles one streamed request, once: what the provider reported, or the estimate.
final class StreamSettlement: Sendable {
    /// How a stream ended, and the status its spend row records.
    enum Ending: Sendable, Equatable {
        case completed
        case clientGone
        case upstreamFailed
        case guardrailBlocked(status: Int)

        var status: Int {
            switch self {
            case .completed: 200
            case .clientGone: 499
            case .upstreamFailed: 502
            case .guardrailBlocked(let status): status
            }
        }
    }

    let ledger: RequestLedger
    let target: RoutableDeployment
    /// Prompt tokens to charge when the provider's usage never comes.
    let estimatedPromptTokens: Int
    /// Longest the upstream is read after the client has gone, for its usage.
    let drainLimit: Duration
    private let settled = Atomic<Bool>(false)

    init(ledger: RequestLedger, target: RoutableDeployment, estimatedPromptTokens: Int, drainLimit: Duration) {
        self.ledger = ledger
        self.target = target
        self.estimatedPromptTokens = estimatedPromptTokens
        self.drainLimit = drainLimit
    }

    /// Settles the request (the first call only): the provider's usage when it came, else the estimate.
    func settle(_ tally: StreamTally, ending: Ending) {
        guard !settled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let usage = tally.usage ?? TokenUsage(promptTokens: estimatedPromptTokens,
            completionTokens: tally.estimatedCompletionTokens)
        ledger.finish(status: ending.status, target: target, usage: usage)
    }

    /// Reads what is left of the stream without sending it, until its usage arrives, it ends, it
    /// fails, or `drainLimit` passes; counts what it reads into `tally`.
    func drain(_ iterator: inout ChatCompletionStream.AsyncIterator, into tally: inout StreamTally) async {
        guard tally.usage == nil, drainLimit > .zero else { return }
        let deadline = ContinuousClock.now + drainLimit
        do {
            while ContinuousClock.now < deadline, let chunk = try await iterator.next() {
                tally.add(chunk)
                if tally.usage != nil { return }
            }
        } catch {
            return
        }
    }
}

/// What a stream has carried so far: the provider's usage once reported, and the completion text's
/// size for an estimate when it is not.
struct StreamTally: Sendable {
    var usage: TokenUsage?
    /// Bytes of `content`, `reasoning_content` and tool-call `arguments` strings seen (and of
    /// `text`, `partial_json` and `thinking` in a provider's own events).
    var textBytes = 0
    /// Chunks that carried any of them.
    var textChunks = 0

    /// About four bytes a token, and at least a token per chunk that carried text.
    var estimatedCompletionTokens: Int { max((textBytes + 3) / 4, textChunks) }

    mutating func add(_ chunk: ChatCompletionChunk) {
        if let usage = chunk.usage { self.usage = usage }
        guard !chunk.isUsageOnly else { return }
        let bytes = Self.textBytes(in: chunk.json)
        if bytes > 0 {
            textBytes += bytes
            textChunks += 1
        }
    }

    /// The summed length of the string values of `"content"`, `"reasoning_content"` and
    /// `"arguments"` members in a chunk's JSON (escapes counted as written): a byte scan, no parse.
    static func textBytes(in json: ByteBuffer) -> Int {
        json.withUnsafeReadableBytes { bytes in
            var total = 0
            var index = 0
            let count = bytes.count
            while index < count {
                guard bytes[index] == UInt8(ascii: "\"") else { index += 1; continue }
                // A key candidate: read to its closing quote.
                let keyStart = index + 1
                var end = keyStart
                while end < count, bytes[end] != UInt8(ascii: "\"") {
                    end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard end < count else { break }
                var next = end + 1
                while next < count, bytes[next] == UInt8(ascii: " ") { next += 1 }
                guard next < count, bytes[next] == UInt8(ascii: ":") else { index = end + 1; continue }
                let key = UnsafeRawBufferPointer(rebasing: bytes[keyStart..<end])
                guard key.elementsEqual("content".utf8) || key.elementsEqual("arguments".utf8)
                    || key.elementsEqual("reasoning_content".utf8) || key.elementsEqual("text".utf8)
                    || key.elementsEqual("partial_json".utf8) || key.elementsEqual("thinking".utf8)
                else { index = next + 1; continue }
                next += 1
                while next < count, bytes[next] == UInt8(ascii: " ") { next += 1 }
                guard next < count, bytes[next] == UInt8(ascii: "\"") else { index = next; continue }
                var valueEnd = next + 1
                while valueEnd < count, bytes[valueEnd] != UInt8(ascii: "\"") {
                    valueEnd += bytes[valueEnd] == UInt8(ascii: "\\") ? 2 : 1
                }
                total += min(valueEnd, count) - (next + 1)
                index = valueEnd + 1
            }
            return total
        }
    }
}
