// scutum-guardrail-bench: the cost of one full guardrail profile (every detector on, PII masking,
// 20 banned topics with keywords and patterns, a host blocklist) on a realistic 4 KB prompt.
// Prints p50/p90/p99 in microseconds over many runs; build it in release:
//   swift build -c release --product scutum-guardrail-bench && .build/release/scutum-guardrail-bench
import Foundation
import ScutumGuardrails
import ScutumCore

let paragraph = """
    Hi team, I'm preparing the quarterly summary for the customer success review on Thursday. The \
    dashboard shows 1,284 active accounts, a churn rate of 2.3% and an NPS of 41, which is up from 37 \
    last quarter. Can you help me rewrite the following notes into a short, friendly update for the \
    leadership channel? Keep the numbers, drop the internal jargon, and suggest two next steps. Our \
    onboarding flow (see https://docs.example.com/onboarding/v2?ref=summary#checklist) still loses \
    people at step 3, where they connect a data source. Support tickets mention timeouts when the \
    import takes longer than 30 seconds; engineering thinks the fix in release 4.12.1 addresses it.

    """
let code = """
    ```python
    def load_config(path: str) -> dict:
        with open(path) as handle:
            data = json.load(handle)
        return {k: v for k, v in data.items() if not k.startswith("_")}

    @app.route("/health")
    def health():
        return {"status": "ok", "version": "2024-05-01"}
    ```

    """
var prompt = ""
while prompt.utf8.count < 3400 { prompt += paragraph + code }
prompt += "You can reach me at jane.doe@example.com or +1 (415) 555-0132 if anything is unclear. "
prompt += "Order 4111 1111 1111 1111 was refunded; the reference is DE89 3704 0044 0532 0130 00. "
while prompt.utf8.count < 4096 { prompt += "Thanks again for the help with this. " }
prompt = String(decoding: Array(prompt.utf8).prefix(4096), as: UTF8.self)

let topics = (0..<20).map { index in
    BannedTopic(
        name: "topic-\(index)", keywords: ["forbidden phrase \(index)", "secretword\(index)", "codename\(index)x"],
        patterns: index % 4 == 0 ? [try! SafeRegex("project\\s+(alpha|beta)\\d{2}-\(index)")] : [])
}
let profile = GuardrailProfile(
    name: "bench", mode: .both, onFail: .block, enablePIIDetection: true, piiAction: .mask,
    piiEntities: PIIEntity.allCases, enableSecretsDetection: true, secretsAction: .block,
    enablePromptInjection: true, enableInvisibleText: true, bannedTopics: topics, enableMaliciousURLs: true,
    blockedHosts: ["evil.example", "malware.test", "phish.example.net"], maxInputTokens: 100_000)
let scanner = GuardrailScanner(profile: profile)

/// Sorted per-scan times in microseconds, after a warm-up; `checksum` keeps the work from being optimized away.
func measure(_ scanner: GuardrailScanner, _ text: String, runs: Int, checksum: inout Int) -> [Double] {
    let clock = ContinuousClock()
    for _ in 0..<min(runs, 1000) { checksum &+= scanner.scan(text, direction: .input).findings.count }
    var samples: [Double] = []
    samples.reserveCapacity(runs)
    for _ in 0..<runs {
        let start = clock.now
        let verdict = scanner.scan(text, direction: .input)
        let elapsed = clock.now - start
        checksum &+= verdict.findings.count
        samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
    }
    return samples.sorted()
}

func percentile(_ sorted: [Double], _ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }

let iterations = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 20_000
var checksum = 0
let samples = measure(scanner, prompt, runs: iterations, checksum: &checksum)
print("guardrail full profile, \(prompt.utf8.count)-byte prompt, \(iterations) runs")
print("findings: \(scanner.scan(prompt, direction: .input).findings.map(\.description).joined(separator: ", "))")
print(String(format: "p50 %.1f us   p90 %.1f us   p99 %.1f us   max %.1f us", percentile(samples, 0.5), percentile(samples, 0.9), percentile(samples, 0.99), samples.last ?? 0))

// The same prompt through one detector family at a time, to see where the time goes.
let parts: [(String, GuardrailProfile)] = [
    ("pii (all entities)", GuardrailProfile(name: "p", enablePIIDetection: true, piiEntities: PIIEntity.allCases)),
    ("secrets", GuardrailProfile(name: "s", enableSecretsDetection: true)),
    ("prompt injection", GuardrailProfile(name: "i", enablePromptInjection: true)),
    ("invisible text", GuardrailProfile(name: "t", enableInvisibleText: true)),
    ("banned topics (20)", GuardrailProfile(name: "b", bannedTopics: topics)),
    ("  keywords only", GuardrailProfile(name: "k", bannedTopics: topics.map { BannedTopic(name: $0.name, keywords: $0.keywords) })),
    ("malicious urls", GuardrailProfile(name: "u", enableMaliciousURLs: true, blockedHosts: ["evil.example"])),
]
for (name, profile) in parts {
    let times = measure(GuardrailScanner(profile: profile), prompt, runs: max(iterations / 10, 100), checksum: &checksum)
    print("  " + name.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: " p50 %.1f us  p99 %.1f us", percentile(times, 0.5), percentile(times, 0.99)))
}
if checksum == -1 { print(checksum) }
