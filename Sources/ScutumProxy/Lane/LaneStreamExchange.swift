import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import ScutumCore
import ScutumProviders

/// One streamed lane request: the provider's events relayed as they are read (one write per
/// upstream read, `model` relabelled, the usage chunk kept only when the client asked for it) and
/// settled exactly once, as the router's `StreamRelay` settles: delivered (200), the client gone
/// (499, the upstream read on for its usage up to the drain limit), the provider failing mid-way
/// (502, the failure as the last event). A call that fails before its head goes on in the pipeline.
final class LaneStreamExchange: LaneResponseHandler, LaneClientObserver {
    let lane: DirectLane
    let chat: ChatCompletionRequest
    let model: String
    let target: RoutableDeployment
    let ledger: RequestLedger
    let byteCount: Int
    let responseID: String
    weak var responder: LaneHandler?
    var call: LaneCall?
    private let began = ContinuousClock.now
    private let settlement: StreamSettlement
    private var parser: OpenAIChunkParser
    private var tally = StreamTally()
    private let encoder = ChatChunkEncoder()
    private var status: HTTPResponseStatus?
    private var retryAfter: String?
    private var errorBody = ByteBuffer()
    /// The provider's stream is being relayed (its head was a 2xx event stream).
    private var streaming = false
    private var clientGone = false
    private var settled = false
    private var drainTimer: Scheduled<Void>?

    init(lane: DirectLane, chat: ChatCompletionRequest, model: String, target: RoutableDeployment,
        ledger: RequestLedger, byteCount: Int, responseID: String, responder: LaneHandler)
    {
        self.lane = lane
        self.chat = chat
        self.model = model
        self.target = target
        self.ledger = ledger
        self.byteCount = byteCount
        self.responseID = responseID
        self.responder = responder
        settlement = StreamSettlement(ledger: ledger, target: target, estimatedPromptTokens: byteCount / 4,
            drainLimit: lane.routes.abandonedStreamDrain)
        parser = OpenAIChunkParser(modelName: target.deployment.name)
    }

    private var name: String { target.deployment.name }

    func laneResponseHead(_ head: HTTPResponseHead) {
        status = head.status
        retryAfter = head.headers.first(name: "retry-after")
        guard (200..<300).contains(head.status.code) else { return }
        let contentType = head.headers.first(name: "content-type") ?? ""
        guard contentType.lowercased().hasPrefix("text/event-stream") else {
            call?.cancel()
            return failed(ProviderError(.malformed, "expected 'text/event-stream', got '\(contentType)'"))
        }
        streaming = true
        let latency = ContinuousClock.now - began
        ledger.upstream.add(latency)
        let dispatcher = lane.pipeline.dispatcher
        dispatcher.stats.answered(target.deployment.id, after: latency)
        dispatcher.metrics.latency(target.deployment.id, latency)
        dispatcher.metrics.lane(.served)
        var headers = CompletionRoutes.eventStreamHeaders
        headers.append(contentsOf: ledger.overheadHeader())
        if clientGone || responder?.startResponse(status: .ok, headers: headers, requestID: responseID) != true {
            clientGone = true
            startDrain()
        }
    }

    func laneResponseBody(_ bytes: ByteBuffer) {
        guard streaming else {
            if errorBody.readableBytes + bytes.readableBytes <= LaneExchange.errorBodyLimit {
                var bytes = bytes
                errorBody.writeBuffer(&bytes)
            }
            return
        }
        guard !settled else { return }
        let chunks = parser.chunks(bytes)
        var out = ByteBuffer()
        for chunk in chunks {
            tally.add(chunk)
            if clientGone || (chunk.isUsageOnly && !chat.includeUsage) { continue }
            encoder.append(chunk.json, usage: chunk.usage, isUsageOnly: chunk.isUsageOnly, to: &out)
        }
        if clientGone {
            if tally.usage != nil || parser.finished {
                call?.cancel()
                finish(.clientGone)
            }
            return
        }
        if let failure = parser.failure {
            call?.cancel()
            return failMidway(failure, out: &out)
        }
        if parser.finished {
            encoder.appendEnd(to: &out)
            responder?.writeBody(out)
            responder?.endResponse()
            return finish(.completed)
        }
        if out.readableBytes > 0 { responder?.writeBody(out) }
    }

    func laneResponseEnd() {
        guard streaming else {
            ledger.upstream.add(ContinuousClock.now - began)
            let status = self.status ?? .badGateway
            return failed(UpstreamHTTP.statusError(status, body: errorBody, retryAfter: retryAfter), timed: true)
        }
        guard !settled else { return }
        if clientGone { return finish(.clientGone) }
        var out = ByteBuffer()
        failMidway(OpenAIChunkParser.endedEarly, out: &out)
    }

    func laneFailed(_ error: ProviderError, receivedHead: Bool) {
        guard streaming else { return failed(error) }
        guard !settled else { return }
        if clientGone { return finish(.clientGone) }
        var out = ByteBuffer()
        failMidway(error, out: &out)
    }

    func clientLeft() {
        clientGone = true
        if streaming && !settled { startDrain() }
    }

    /// The client is gone and the provider still generating: read on (not sending) until its usage
    /// arrives or the drain limit passes.
    private func startDrain() {
        guard !settled else { return }
        guard tally.usage == nil, settlement.drainLimit > .zero, let loop = responder?.eventLoop else {
            call?.cancel()
            return finish(.clientGone)
        }
        drainTimer = loop.assumeIsolated().scheduleTask(in: TimeAmount(settlement.drainLimit)) { [weak self] in
            guard let self else { return }
            self.call?.cancel()
            self.finish(.clientGone)
        }
    }

    /// The provider failed mid-way: what was read, then the failure as the last event (no [DONE]).
    private func failMidway(_ error: ProviderError, out: inout ByteBuffer) {
        lane.logger.warning("stream failed mid-way", metadata: ["model": "\(name)", "error": "\(error.message)"])
        encoder.appendFailure(error.gatewayError(model: name), to: &out)
        responder?.writeBody(out)
        responder?.endResponse()
        finish(.upstreamFailed)
    }

    private func finish(_ ending: StreamSettlement.Ending) {
        guard !settled else { return }
        settled = true
        drainTimer?.cancel()
        drainTimer = nil
        settlement.settle(tally, ending: ending)
    }

    /// The first call failed before its stream began: the pipeline goes on from there in a task and
    /// its stream (or its error) is written through this connection.
    private func failed(_ error: ProviderError, timed: Bool = false) {
        if !timed { ledger.upstream.add(ContinuousClock.now - began) }
        lane.pipeline.dispatcher.metrics.lane(.continued)
        let (routes, chat, model, ledger, byteCount, responseID) = (lane.routes, chat, model, ledger, byteCount, responseID)
        let failure = Dispatcher.FirstFailure(deployment: target.deployment.id, error: error)
        // Without a connection (the client gone) the pipeline still goes on: the provider that answers
        // is billed, the stream drained and settled by its relay when its body is never written.
        let handler = responder.map { NIOLoopBound($0, eventLoop: $0.eventLoop) }
        handler?.value.observer = nil
        let logger = lane.logger
        Task {
            do {
                let response = try await RequestLogMetadata.$requestID.withValue(ledger.requestID) {
                    try await routes.streamed(chat, routedTo: model, ledger: ledger, after: failure, byteCount: byteCount)
                }
                guard let handler else { return }
                _ = try await handler.eventLoop.submit {
                    handler.value.startResponse(status: response.status, headers: response.headers, requestID: responseID)
                }.get()
                try await response.body.write(LaneBodyWriter(handler: handler))
            } catch let error as GatewayError {
                handler?.eventLoop.execute { handler?.value.respond(error: error, requestID: responseID) }
            } catch {
                // The client went away while the stream was written: the relay settled it.
                logger.debug("direct lane stream ended early", metadata: ["error": "\(error)"])
            }
        }
    }
}
