import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ScutumCore
import ScutumStore

/// The leader's alert delivery: posts each pending alert to the webhook in the settings, oldest
/// first, and records every attempt. A failed one (transport error, timeout, non-2xx answer) is
/// tried again after `retryBase`, doubling each time up to `retryCap`, until `maximumAttempts`;
/// then it is `failed`. An alert whose kind the settings do not send, or sent while no webhook is
/// set, is recorded `not_sent`. It runs beside the proxy: no request waits for it.
struct AlertDispatcher: Sendable {
    /// How often and how patiently alerts are sent.
    struct Timing: Sendable {
        /// How often pending alerts are looked for.
        var interval: Duration = .seconds(2)
        /// How long one delivery may take, answer included.
        var timeout: Duration = .seconds(10)
        var retryBase: Duration = .seconds(1)
        var retryCap: Duration = .seconds(300)
        var maximumAttempts = 8

        /// The wait after failed attempt `attempt` (1-based): `retryBase` × 2^(attempt-1), at most
        /// `retryCap`; nil once `maximumAttempts` were made.
        func retryDelay(after attempt: Int) -> Duration? {
            guard attempt < maximumAttempts else { return nil }
            let factor = 1 << min(attempt - 1, 30)
            return min(retryBase * factor, retryCap)
        }
    }

    /// Why a delivery failed, as recorded in `last_error`.
    struct DeliveryFailed: Error, CustomStringConvertible {
        var description: String
    }

    let store: AlertStore
    let settings: SettingsStore
    let client: HTTPClient
    let timing: Timing
    let logger: Logger

    /// Sends what is due every `interval` until cancelled (leadership lost, shutdown). `leads` says
    /// whether this node still leads by its own clock: asked before each delivery, so that a leader
    /// whose term ran out (paused, cut off) stops sending before the next one starts. (A webhook is
    /// still at-least-once across a handover: a delivery whose answer was lost is sent again. The
    /// body's `id` lets a receiver drop the second.)
    func run(leads: @escaping @Sendable () -> Bool = { true }) async {
        while !Task.isCancelled {
            await pass(leads: leads)
            do { try await Task.sleep(for: timing.interval) } catch { return }
        }
    }

    /// Sends every alert due now, while `leads` holds.
    func pass(leads: @Sendable () -> Bool = { true }) async {
        do {
            guard leads() else { return }
            let due = try await store.due()
            guard !due.isEmpty else { return }
            let settings = AlertSettings(settings: try await self.settings.load())
            for alert in due {
                if Task.isCancelled || !leads() { return }
                try await deliver(alert, settings: settings)
            }
        } catch {
            logger.warning("alerts not sent", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    private func deliver(_ alert: AlertRecord, settings: AlertSettings) async throws {
        guard let url = settings.webhookURL else {
            return try await store.markNotSent(alert.id, reason: "no alert webhook is configured")
        }
        guard settings.sends(alert.event.kind) else {
            return try await store.markNotSent(alert.id, reason: "alert_kinds does not include \(alert.event.kind.rawValue)")
        }
        let attempt = alert.attempts + 1
        do {
            try AlertSettings.validate(url: url)
            try await post(alert.webhookBody(settings.format), to: url)
            try await store.markDelivered(alert.id, attempts: attempt)
            logger.info("alert delivered", metadata: ["id": "\(alert.id)", "attempt": "\(attempt)"])
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let retry = timing.retryDelay(after: attempt)
            let reason = (error as? DeliveryFailed)?.description ?? String(reflecting: error)
            try await store.markFailed(alert.id, attempts: attempt, error: reason, retryAfter: retry)
            logger.warning(retry == nil ? "alert delivery failed; giving up" : "alert delivery failed; retrying",
                metadata: ["id": "\(alert.id)", "attempt": "\(attempt)", "error": "\(reason)",
                    "retry_in": "\(retry.map { "\($0)" } ?? "-")"])
        }
    }

    /// Posts `body`; throws unless the webhook answers 2xx within `timeout`.
    private func post(_ body: JSONValue, to url: String) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "scutum-alerts/\(ScutumVersion.current)")
        request.body = .bytes(body.jsonBytes)
        let (client, prepared, timeout) = (client, request, timing.timeout)
        let status: HTTPResponseStatus
        do {
            status = try await withDeadline(timeout) {
                let response = try await client.execute(prepared, timeout: .init(timeout))
                // Read (and bound) the answer so the connection can be reused.
                _ = try await response.body.collect(upTo: 64 * 1024)
                return response.status
            }
        } catch is DeadlineExceeded {
            throw DeliveryFailed(description: "the webhook did not answer within \(timing.timeout)")
        } catch let error as CancellationError {
            throw error
        } catch {
            throw DeliveryFailed(description: "the webhook could not be reached: \(error)")
        }
        guard (200..<300).contains(status.code) else {
            throw DeliveryFailed(description: "the webhook answered \(status.code)")
        }
    }
}
