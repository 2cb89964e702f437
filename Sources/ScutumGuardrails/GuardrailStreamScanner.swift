/// Scans a streamed answer incrementally: fed the output text deltas in order, it returns the text that
/// is safe to send on (masked when the profile masks), holding back a tail so that something split
/// across deltas, like a key arriving in three chunks, is still seen whole before any of it leaves.
///
/// Cost: the last `holdBack` bytes (256 by default, about 64 tokens) are held until more text arrives
/// or `finish()`; so the client sees the first text once 256 bytes have been generated and then lags
/// the model by those bytes. A match still growing at the end of the window (a long JWT or PEM block)
/// holds text back from its start, up to `maximumPending` bytes, after which text is released anyway.
/// Each release rescans the window (hold-back plus the new delta plus 64 bytes of already-released
/// context, so a match is not mistaken to start mid-word), so the work per delta is about
/// `holdBack + 64 + delta` bytes.
///
/// Findings use offsets into the whole output. Prompt injection is scored per window. Once a block
/// is decided every later call reports the same verdict; the caller ends the stream with
/// `verdict.error` as an error event.
public struct GuardrailStreamScanner: Sendable {
    public enum Step: Sendable, Equatable {
        /// Send this text on (possibly empty: everything is still held back).
        case emit(String)
        /// Stop the stream and send `verdict.error`.
        case block(GuardrailVerdict)
    }

    public static let defaultHoldBack = 256
    /// Already-released bytes kept in front of the window as left context.
    public static let contextBytes = 64
    public static let maximumPending = 16 * 1024

    public let scanner: GuardrailScanner
    public let holdBack: Int
    /// Everything found so far (once each), offsets into the whole output.
    public private(set) var findings: [GuardrailFinding] = []

    private var window: [UInt8] = []
    /// How many bytes at the start of `window` were released already (context).
    private var contextCount = 0
    /// The output offset of `window[contextCount]`.
    private var releasedTotal = 0
    private var blocked: GuardrailVerdict?
    private let active: Bool

    public init(scanner: GuardrailScanner, holdBack: Int = GuardrailStreamScanner.defaultHoldBack) {
        self.scanner = scanner
        self.holdBack = max(holdBack, 0)
        active = scanner.applies(to: .output)
    }

    /// Whether this scanner changes the stream at all (false: deltas pass through at once).
    public var isActive: Bool { active }

    /// Takes the next delta; returns what to send now.
    public mutating func feed(_ delta: String) -> Step {
        if let blocked { return .block(blocked) }
        guard active else { return .emit(delta) }
        window.append(contentsOf: delta.utf8)
        guard window.count - contextCount > holdBack else { return .emit("") }
        return release(final: false)
    }

    /// The end of the stream: scans and releases everything still held.
    public mutating func finish() -> Step {
        if let blocked { return .block(blocked) }
        guard active else { return .emit("") }
        return release(final: true)
    }

    private mutating func release(final: Bool) -> Step {
        let context = contextCount
        let found = window.withUnsafeBufferPointer { scanner.findings(in: $0) }
            .filter { $0.range.upperBound > context }
            .sorted { $0.range.lowerBound < $1.range.lowerBound }
        let offset = releasedTotal - context
        if case .block(let finding) = scanner.outcome(of: found) {
            let shifted = found.map { $0.shifted(by: offset) }
            let verdict = GuardrailVerdict(
                decision: .block(
                    GuardrailBlock(profile: scanner.profile.name, direction: .output, finding: finding.shifted(by: offset))),
                findings: shifted)
            record(shifted)
            blocked = verdict
            window = []
            return .block(verdict)
        }
        var cut = final ? window.count : window.count - holdBack
        if !final && window.count - context <= Self.maximumPending {
            // Never cut through a match: it may still be growing, and must be masked whole.
            var moved = true
            while moved {
                moved = false
                for finding in found where finding.range.lowerBound < cut && finding.range.upperBound > cut {
                    cut = finding.range.lowerBound
                    moved = true
                }
            }
        }
        while cut > context, cut < window.count, window[cut] & 0xC0 == 0x80 { cut -= 1 }
        guard cut > context else { return .emit("") }
        let released = found.filter { $0.range.lowerBound < cut }
        record(released.filter { $0.range.lowerBound >= context }.map { $0.shifted(by: offset) })
        let masked = released.filter { scanner.action(for: $0) == .mask }
        let bytes = GuardrailMasking.apply(masked, to: window, in: context..<cut)
        releasedTotal += cut - context
        let keepFrom = max(0, cut - Self.contextBytes)
        window.removeFirst(keepFrom)
        contextCount = cut - keepFrom
        return .emit(String(decoding: bytes, as: UTF8.self))
    }

    private mutating func record(_ new: [GuardrailFinding]) {
        for finding in new where !findings.contains(finding) { findings.append(finding) }
    }
}
