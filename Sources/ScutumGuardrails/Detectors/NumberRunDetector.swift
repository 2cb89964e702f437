import ScutumCore

/// `CREDIT_CARD`, `US_SSN` and `PHONE_NUMBER` from one pass over runs of digits.
///
/// A run is a maximal stretch of digit groups joined by one separator (space, `-` or `.`, with an
/// optional leading `+` and parentheses around one group), not glued to letters or other digits. Each
/// run is classified whole, never a piece of it, so a long number is not read as a phone or card
/// number inside it:
/// - credit card: 13 to 19 digits, no separator or one kind (space or `-`) in 4-4-4-4(-1..3), Amex
///   4-6-5 or Diners 4-6-4 groups, a known issuer prefix (Visa 4, Mastercard 51-55/2221-2720, Amex
///   34/37, Discover 6011/644-649/65, JCB 35, Diners 30/36/38/39, UnionPay 62) and a valid Luhn sum;
/// - US SSN: 3-2-4 digits with the same separator (`-` or space), area not 000, 666 or 900-999, group
///   not 00, serial not 0000; nine bare digits are not taken as an SSN;
/// - phone: `+` and 8 to 15 digits (E.164, separators optional); or separated national forms: US
///   3-3-4 (optionally `(3)`, optionally led by 1), or 10-11 digits starting with a trunk `0` in 2-5
///   groups of 2+ digits (UK, DE, FR styles); `.` only in 3-3-4. Bare digit strings, dates
///   (2024-01-15), versions and IP addresses are not phones.
struct NumberRunDetector: Detector {
    var creditCards: Bool
    var ssns: Bool
    var phones: Bool

    /// At most this many groups are tracked; longer runs are consumed and rejected.
    private static let maximumGroups = 8

    func detect(in text: Bytes, into findings: inout [GuardrailFinding]) {
        var index = 0
        var run = Run()
        while index < text.count {
            let byte = text[index]
            guard ASCII.isDigit(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "(") else {
                index += 1
                continue
            }
            run.reset()
            let end = run.read(text, from: index)
            if index > 0, !Self.canStart(after: text, at: index) {
                // The whole run continues something else (`DE89 3704 ...`, `x12 345`): skip all of it.
                index = max(end, index + 1)
                continue
            }
            if end > index, run.valid, let entity = classify(run, text) {
                findings.append(GuardrailFinding(scanner: .pii, rule: entity.rawValue, range: index..<end))
            }
            index = max(end, index + 1)
        }
    }

    /// A run must not continue a word, a number or a decimal: `x12`, `3.14`, `1-2`.
    private static func canStart(after text: Bytes, at index: Int) -> Bool {
        let before = text[index - 1]
        if ASCII.isAlnum(before) || before == UInt8(ascii: "_") || before == UInt8(ascii: "+") || before >= 0x80 {
            return false
        }
        if before == UInt8(ascii: ".") || before == UInt8(ascii: "-") || before == UInt8(ascii: "/")
            || before == UInt8(ascii: ",")
        {
            return !(index >= 2 && ASCII.isDigit(text[index - 2]))
        }
        return true
    }

    /// Which of space, `-` and `.` a run uses, as bits.
    struct Separators {
        private var bits: UInt8 = 0

        private static func bit(_ byte: UInt8) -> UInt8 {
            byte == UInt8(ascii: " ") ? 1 : byte == UInt8(ascii: "-") ? 2 : 4
        }

        mutating func insert(_ byte: UInt8) { bits |= Self.bit(byte) }
        func contains(_ byte: UInt8) -> Bool { bits & Self.bit(byte) != 0 }
        var count: Int { bits.nonzeroBitCount }
        var isEmpty: Bool { bits == 0 }
    }

    /// The groups of one run.
    struct Run {
        var plus = false
        var starts: [Int] = []
        var lengths: [Int] = []
        var separators = Separators()
        var parenGroup: Int?
        var valid = true
        var digits: Int { lengths.reduce(0, +) }

        /// Empty again, keeping the arrays' storage for the next run.
        mutating func reset() {
            plus = false
            starts.removeAll(keepingCapacity: true)
            lengths.removeAll(keepingCapacity: true)
            separators = Separators()
            parenGroup = nil
            valid = true
        }

        /// Reads from `start`; returns the end of the run (after its last digit or closing parenthesis).
        mutating func read(_ text: Bytes, from start: Int) -> Int {
            var index = start
            if text[index] == UInt8(ascii: "+") {
                plus = true
                index += 1
            }
            var end = start
            while index < text.count {
                var open = false
                if text[index] == UInt8(ascii: "(") {
                    open = true
                    index += 1
                }
                let groupStart = index
                while index < text.count, ASCII.isDigit(text[index]), index - groupStart < 64 { index += 1 }
                guard index > groupStart else { break }
                if index - groupStart >= 64 {
                    valid = false
                    while index < text.count, ASCII.isDigit(text[index]) { index += 1 }
                }
                if starts.count < NumberRunDetector.maximumGroups {
                    starts.append(groupStart)
                    lengths.append(index - groupStart)
                } else {
                    valid = false
                }
                if open {
                    guard index < text.count, text[index] == UInt8(ascii: ")"), parenGroup == nil else {
                        valid = false
                        break
                    }
                    parenGroup = starts.count - 1
                    index += 1
                }
                end = index
                // One separator followed by a digit or '(' continues the run; so does a digit right after ')'.
                guard index < text.count else { break }
                let byte = text[index]
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") {
                    let next = index + 1
                    guard next < text.count, ASCII.isDigit(text[next]) || text[next] == UInt8(ascii: "(") else { break }
                    separators.insert(byte)
                    index = next
                } else if !(open && ASCII.isDigit(byte)) {
                    break
                }
            }
            if end < text.count, ASCII.isLetter(text[end]) || text[end] == UInt8(ascii: "_") || text[end] >= 0x80 {
                valid = false
            }
            if end < text.count - 1, text[end] == UInt8(ascii: "."), ASCII.isDigit(text[end + 1]) { valid = false }
            return end
        }
    }

    private func classify(_ run: Run, _ text: Bytes) -> PIIEntity? {
        if creditCards, isCreditCard(run, text) { return .creditCard }
        if ssns, isSSN(run, text) { return .usSSN }
        if phones, isPhone(run, text) { return .phoneNumber }
        return nil
    }

    private func isCreditCard(_ run: Run, _ text: Bytes) -> Bool {
        guard !run.plus, run.parenGroup == nil, run.separators.count <= 1,
            !run.separators.contains(UInt8(ascii: ".")), (13...19).contains(run.digits)
        else { return false }
        let groups = run.lengths
        if groups.count > 1 {
            let standard = groups.dropLast().allSatisfy { $0 == 4 } && (1...4).contains(groups.last!)
                && groups.count >= 4
            let amexOrDiners = groups == [4, 6, 5] || groups == [4, 6, 4]
            guard standard || amexOrDiners else { return false }
        }
        var digits: [Int] = []
        digits.reserveCapacity(19)
        for (start, length) in zip(run.starts, run.lengths) {
            for offset in start..<(start + length) { digits.append(ASCII.digit(text[offset])) }
        }
        return Self.hasIssuerPrefix(digits) && Self.luhn(digits)
    }

    static func luhn(_ digits: [Int]) -> Bool {
        var sum = 0
        for (position, digit) in digits.reversed().enumerated() {
            if position % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return sum % 10 == 0
    }

    static func hasIssuerPrefix(_ digits: [Int]) -> Bool {
        func prefix(_ count: Int) -> Int { digits.prefix(count).reduce(0) { $0 * 10 + $1 } }
        switch digits[0] {
        case 4: return true
        case 5: return (51...55).contains(prefix(2))
        case 2: return (2221...2720).contains(prefix(4))
        case 3: return [34, 37, 35, 30, 36, 38, 39].contains(prefix(2))
        case 6: return prefix(4) == 6011 || prefix(2) == 65 || (644...649).contains(prefix(3)) || prefix(2) == 62
        default: return false
        }
    }

    private func isSSN(_ run: Run, _ text: Bytes) -> Bool {
        guard !run.plus, run.parenGroup == nil, run.lengths == [3, 2, 4], run.separators.count == 1,
            !run.separators.contains(UInt8(ascii: "."))
        else { return false }
        func number(_ group: Int) -> Int {
            (run.starts[group]..<(run.starts[group] + run.lengths[group])).reduce(0) { $0 * 10 + ASCII.digit(text[$1]) }
        }
        let area = number(0)
        return area != 0 && area != 666 && area < 900 && number(1) != 0 && number(2) != 0
    }

    private func isPhone(_ run: Run, _ text: Bytes) -> Bool {
        let groups = run.lengths
        let digits = run.digits
        if run.plus { return (8...15).contains(digits) && groups.count <= 6 && text[run.starts[0]] != UInt8(ascii: "0") }
        guard groups.count >= 2, !run.separators.isEmpty || run.parenGroup != nil else { return false }
        if run.separators.contains(UInt8(ascii: ".")) {
            guard run.separators.count == 1, groups == [3, 3, 4] || groups == [1, 3, 3, 4] else { return false }
        }
        let first = text[run.starts[0]]
        if groups == [3, 3, 4] { return run.parenGroup == nil || run.parenGroup == 0 }
        if groups == [1, 3, 3, 4] { return first == UInt8(ascii: "1") && (run.parenGroup == nil || run.parenGroup == 1) }
        if first == UInt8(ascii: "0"), (10...11).contains(digits), groups.count <= 5, groups.allSatisfy({ $0 >= 2 }) {
            return run.parenGroup == nil || run.parenGroup == 0
        }
        return false
    }
}
