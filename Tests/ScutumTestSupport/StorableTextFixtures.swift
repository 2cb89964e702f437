import ScutumCore

/// Client JSON with NUL (which PostgreSQL's `text` refuses, and `jsonb` as `\u0000`), and what a
/// writer must store for it.
public enum StorableTextFixtures {
    /// A NUL in a key, in a value, and deep inside.
    public static let hostile: JSONValue = [
        "question\u{0}": .string("what\u{0}is"), "list": .array([.string("\u{0}"), ["deep\u{0}": .string("x\u{0}")]]),
        "n": .int(1),
    ]
    /// `hostile` as stored: every NUL removed.
    public static let cleaned: JSONValue = [
        "question": .string("whatis"), "list": .array([.string(""), ["deep": .string("x")]]), "n": .int(1),
    ]
}
