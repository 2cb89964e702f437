/// Splits a SQL script into statements, respecting quotes, dollar-quoted bodies and comments,
/// because PostgreSQL's extended protocol runs one statement at a time.
public enum SQLScript {
    public static func statements(_ script: String) -> [String] {
        let chars = Array(script.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0
        func flush() {
            let text = String(current).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty && !text.allSatisfy({ $0 == ";" }) { statements.append(text) }
            current = String.UnicodeScalarView()
        }
        while index < chars.count {
            let c = chars[index]
            let next = index + 1 < chars.count ? chars[index + 1] : nil
            if c == "-" && next == "-" {
                while index < chars.count && chars[index] != "\n" { index += 1 }
                continue
            }
            if c == "/" && next == "*" {
                // Block comments nest in PostgreSQL, and separate tokens like whitespace.
                var depth = 1
                index += 2
                while index < chars.count && depth > 0 {
                    let pair = index + 1 < chars.count ? (chars[index], chars[index + 1]) : (chars[index], " ")
                    if pair == ("/", "*") {
                        depth += 1
                        index += 2
                    } else if pair == ("*", "/") {
                        depth -= 1
                        index += 2
                    } else {
                        index += 1
                    }
                }
                current.append(" ")
                continue
            }
            if c == "'" || c == "\"" {
                // E'...' strings use backslash escapes: \' does not end them.
                let escapes = c == "'" && index > 0 && (chars[index - 1] == "E" || chars[index - 1] == "e")
                    && (index < 2 || !(chars[index - 2] == "_" || chars[index - 2].properties.isAlphabetic
                        || ("0"..."9").contains(chars[index - 2])))
                current.append(c)
                index += 1
                while index < chars.count {
                    if escapes && chars[index] == "\\" && index + 1 < chars.count {
                        current.append(chars[index])
                        current.append(chars[index + 1])
                        index += 2
                        continue
                    }
                    current.append(chars[index])
                    if chars[index] == c {
                        if index + 1 < chars.count && chars[index + 1] == c {
                            current.append(chars[index + 1])
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    index += 1
                }
                continue
            }
            if c == "$", let tagEnd = dollarTagEnd(chars, from: index) {
                let tag = Array(chars[index...tagEnd])
                current.append(contentsOf: tag)
                index = tagEnd + 1
                while index < chars.count {
                    if chars[index] == "$", index + tag.count <= chars.count, Array(chars[index..<index + tag.count]) == tag {
                        current.append(contentsOf: tag)
                        index += tag.count
                        break
                    }
                    current.append(chars[index])
                    index += 1
                }
                continue
            }
            if c == ";" {
                flush()
                index += 1
                continue
            }
            current.append(c)
            index += 1
        }
        flush()
        return statements
    }

    /// The index of the closing `$` of a dollar-quote tag starting at `start`, if one starts there.
    private static func dollarTagEnd(_ chars: [Unicode.Scalar], from start: Int) -> Int? {
        var index = start + 1
        while index < chars.count {
            let c = chars[index]
            if c == "$" { return index }
            guard c == "_" || c.properties.isAlphabetic || (index > start + 1 && ("0"..."9").contains(c)) else {
                return nil
            }
            index += 1
        }
        return nil
    }
}

import Foundation
