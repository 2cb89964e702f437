import Foundation
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("SQL script splitting")
struct SQLScriptTests {
    @Test("statements split on semicolons, trimmed")
    func basic() {
        #expect(SQLScript.statements("CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\n") == [
            "CREATE TABLE a (x int)", "INSERT INTO a VALUES (1)",
        ])
    }

    @Test("a trailing statement without a semicolon is kept")
    func trailing() {
        #expect(SQLScript.statements("SELECT 1; SELECT 2") == ["SELECT 1", "SELECT 2"])
        #expect(SQLScript.statements("SELECT 1") == ["SELECT 1"])
    }

    @Test("empty input and empty statements yield nothing", arguments: ["", "   \n\t", ";", ";;  ;\n;", "-- only a comment", "/* only */ ;"])
    func empty(_ script: String) {
        #expect(SQLScript.statements(script) == [])
    }

    @Test("semicolons inside quoted strings and identifiers do not split")
    func quotes() {
        #expect(SQLScript.statements("INSERT INTO t VALUES ('a;b'); SELECT 'it''s; fine'") == [
            "INSERT INTO t VALUES ('a;b')", "SELECT 'it''s; fine'",
        ])
        #expect(SQLScript.statements(#"SELECT 1 AS "a;b"; SELECT 2 AS "say ""hi"";""#) == [
            #"SELECT 1 AS "a;b""#, #"SELECT 2 AS "say ""hi"";""#,
        ])
        #expect(SQLScript.statements("SELECT ''; SELECT ''''") == ["SELECT ''", "SELECT ''''"])
    }

    @Test("comment markers inside strings are text, quotes inside comments are not quotes")
    func commentsAndQuotes() {
        #expect(SQLScript.statements("SELECT '-- not a comment; /* nor this */'") == [
            "SELECT '-- not a comment; /* nor this */'",
        ])
        #expect(SQLScript.statements("-- don't split here; please\nSELECT 1;\n/* it's; fine */ SELECT 2") == [
            "SELECT 1", "SELECT 2",
        ])
    }

    @Test("line and block comments are dropped")
    func comments() {
        #expect(SQLScript.statements("-- a; b\nSELECT 1; /* c; d */ SELECT 2; -- trailing; comment") == [
            "SELECT 1", "SELECT 2",
        ])
        #expect(SQLScript.statements("SELECT 1 -- why; because\n, 2;") == ["SELECT 1 \n, 2"])
        #expect(SQLScript.statements("SELECT 1 - -1; SELECT 4/2") == ["SELECT 1 - -1", "SELECT 4/2"])
    }

    @Test("$$ bodies keep their semicolons")
    func dollarQuoted() {
        let function = """
            CREATE FUNCTION f() RETURNS trigger AS $$
            BEGIN
                PERFORM 1; -- inside
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql;
            SELECT 1
            """
        let statements = SQLScript.statements(function)
        #expect(statements.count == 2)
        #expect(statements.first?.hasSuffix("END;\n$$ LANGUAGE plpgsql") == true)
        #expect(statements.first?.contains("PERFORM 1; -- inside") == true)
        #expect(statements.last == "SELECT 1")
    }

    @Test("$tag$ bodies end only at the same tag")
    func taggedDollarQuotes() {
        let script = "CREATE FUNCTION g() RETURNS text AS $body$ SELECT 'x;$$;y'::text $body$ LANGUAGE sql; SELECT $a$;$a$"
        #expect(SQLScript.statements(script) == [
            "CREATE FUNCTION g() RETURNS text AS $body$ SELECT 'x;$$;y'::text $body$ LANGUAGE sql",
            "SELECT $a$;$a$",
        ])
        #expect(SQLScript.statements("SELECT $_x1$ ; $_x1$; SELECT 2") == ["SELECT $_x1$ ; $_x1$", "SELECT 2"])
    }

    @Test("positional parameters are not dollar quotes")
    func parameters() {
        #expect(SQLScript.statements("PREPARE p(int) AS SELECT $1; EXECUTE p(1)") == [
            "PREPARE p(int) AS SELECT $1", "EXECUTE p(1)",
        ])
        #expect(SQLScript.statements("SELECT $1, $2; SELECT $10") == ["SELECT $1, $2", "SELECT $10"])
    }

    @Test("the shipped 0001_keys.sql splits into its four statements")
    func shippedMigration() throws {
        let sql = try String(contentsOfFile: TestEnvironment.sqlDirectory + "/0001_keys.sql", encoding: .utf8)
        let statements = SQLScript.statements(sql)
        #expect(statements.count == 4)
        #expect(statements.map { $0.split(separator: " ").prefix(2).joined(separator: " ") } == [
            "CREATE TABLE", "CREATE INDEX", "CREATE FUNCTION", "CREATE TRIGGER",
        ])
        #expect(statements[2].hasSuffix("$$ LANGUAGE plpgsql"))
    }

    @Test("a block comment between tokens separates them, as PostgreSQL reads it")
    func blockCommentSeparates() {
        do {
            let statements = SQLScript.statements("SELECT 1 AS a/* alias */FROM pg_class")
            #expect(statements.count == 1)
            #expect(statements.first?.contains("aFROM") == false, "\(statements)")
        }
    }

    @Test("escape strings with backslash-quoted quotes")
    func escapeStrings() {
        do {
            #expect(SQLScript.statements(#"SELECT E'it\'s; fine'; SELECT 2"#) == [#"SELECT E'it\'s; fine'"#, "SELECT 2"])
        }
    }

    @Test("nested block comments")
    func nestedBlockComments() {
        do {
            #expect(SQLScript.statements("/* outer /* inner */ still a comment; */ SELECT 1") == ["SELECT 1"])
        }
    }
}
