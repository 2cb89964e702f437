/// Spots regular expressions that can backtrack catastrophically: a repeated group that itself
/// contains a variable-length repetition, such as `(a+)+`, `(\w*\s)*` or `(?:x|y+){2,}`. Matching
/// such a pattern against a crafted input takes exponential time, so guardrail profiles refuse them.
/// Character classes and escapes are skipped; the check is deliberately conservative.
enum RegexRisk {
    /// Whether `pattern` has a nested quantifier.
    static func hasNestedQuantifier(_ pattern: String) -> Bool {
        let chars = Array(pattern.unicodeScalars)
        // One entry per open group: whether it holds a variable-length repetition.
        var groups: [Bool] = [false]
        var index = 0
        while index < chars.count {
            switch chars[index] {
            case "\\":
                index += 2
                continue
            case "[":
                index = endOfClass(chars, from: index)
                continue
            case "(":
                groups.append(false)
                // `(?:`, `(?=`, `(?<name>`...: the `?` is not a quantifier.
                index += index + 1 < chars.count && chars[index + 1] == "?" ? 2 : 1
                continue
            case ")":
                let inner = groups.count > 1 ? groups.removeLast() : false
                index += 1
                if let quantifier = quantifier(chars, at: index) {
                    if inner && quantifier.repeats { return true }
                    groups[groups.count - 1] = groups[groups.count - 1] || inner || quantifier.variable
                    index += quantifier.length
                } else if inner {
                    groups[groups.count - 1] = true
                }
                continue
            default:
                if let quantifier = quantifier(chars, at: index) {
                    if quantifier.variable { groups[groups.count - 1] = true }
                    index += quantifier.length
                    continue
                }
            }
            index += 1
        }
        return false
    }

    /// A quantifier: whether it allows more than one repetition, and whether the repeated length varies.
    struct Quantifier {
        var repeats: Bool
        var variable: Bool
        var length: Int
    }

    /// The quantifier starting at `index` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, with a lazy or
    /// possessive suffix), if any.
    static func quantifier(_ chars: [Unicode.Scalar], at index: Int) -> Quantifier? {
        guard index < chars.count else { return nil }
        var found: Quantifier
        switch chars[index] {
        case "*", "+": found = Quantifier(repeats: true, variable: true, length: 1)
        case "?": found = Quantifier(repeats: false, variable: false, length: 1)
        case "{":
            guard let bounds = bounds(chars, at: index) else { return nil }
            let upper = bounds.upper ?? Int.max
            found = Quantifier(repeats: upper > 1, variable: upper > bounds.lower, length: bounds.length)
        default: return nil
        }
        let suffix = index + found.length
        if suffix < chars.count, chars[suffix] == "?" || chars[suffix] == "+" { found.length += 1 }
        return found
    }

    /// `{n}`, `{n,}` or `{n,m}` at `index`: the bounds (no upper bound for `{n,}`) and its length.
    static func bounds(_ chars: [Unicode.Scalar], at index: Int) -> (lower: Int, upper: Int?, length: Int)? {
        var cursor = index + 1
        func number() -> Int? {
            var digits = ""
            while cursor < chars.count, ("0"..."9").contains(chars[cursor]) {
                digits.unicodeScalars.append(chars[cursor])
                cursor += 1
            }
            return digits.isEmpty ? nil : Int(digits.prefix(9))
        }
        guard let lower = number(), cursor < chars.count else { return nil }
        var upper: Int? = lower
        if chars[cursor] == "," {
            cursor += 1
            upper = number()
        }
        guard cursor < chars.count, chars[cursor] == "}" else { return nil }
        return (lower, upper, cursor + 1 - index)
    }

    /// The index after the character class opening at `index` (classes may nest, as ICU allows; a `]`
    /// first in the class is literal).
    static func endOfClass(_ chars: [Unicode.Scalar], from index: Int) -> Int {
        var cursor = index + 1
        if cursor < chars.count, chars[cursor] == "^" { cursor += 1 }
        if cursor < chars.count, chars[cursor] == "]" { cursor += 1 }
        var depth = 1
        while cursor < chars.count {
            switch chars[cursor] {
            case "\\": cursor += 1
            case "[": depth += 1
            case "]":
                depth -= 1
                if depth == 0 { return cursor + 1 }
            default: break
            }
            cursor += 1
        }
        return cursor
    }
}
