import ScutumCore

/// A detector: appends what it finds in `text` to `findings`, in linear time in `text.count`.
protocol Detector: Sendable {
    func detect(in text: Bytes, into findings: inout [GuardrailFinding])
}
