import Testing

@testable import ScutumGuardrails

@Suite("PII detectors: true positives, true negatives and near misses")
struct PIIDetectorTests {
    static func pii(_ entities: [PIIEntity]) -> GuardrailScanner {
        scanner {
            $0.enablePIIDetection = true
            $0.piiEntities = entities
        }
    }

    @Test(
        "email addresses are found",
        arguments: [
            ("Write to jane.doe@example.com today", "jane.doe@example.com"),
            ("<a.b+tag@sub.example.co.uk>", "a.b+tag@sub.example.co.uk"),
            ("mailto:ops@corp.example.org", "ops@corp.example.org"),
            ("CC: First.Last_99@Mail-Server.Example.IO.", "First.Last_99@Mail-Server.Example.IO"),
        ])
    func emails(text: String, expected: String) {
        #expect(matches(Self.pii([.emailAddress]), text) == [expected])
    }

    @Test(
        "email-like strings in code and URLs are not emails",
        arguments: [
            "git clone git@github.com:org/repo.git",
            "@Test func works() {}",
            "@MainActor final class Model",
            "ssh://git@github.com/org/repo.git",
            "https://user@host.example.com/path",
            "ping user@localhost",
            "a@b",
            "background: url(icon@2x.png)",
            "npm install @scope/package",
            "name@domain",
            "x@y.c",
        ])
    func emailNearMisses(text: String) {
        #expect(matches(Self.pii([.emailAddress]), text) == [])
    }

    @Test(
        "phone numbers are found in E.164 and national forms",
        arguments: [
            ("call +1 415 555 2671 now", "+1 415 555 2671"),
            ("+14155552671", "+14155552671"),
            ("London: +44 20 7946 0958.", "+44 20 7946 0958"),
            ("Office (415) 555-2671", "(415) 555-2671"),
            ("415-555-2671", "415-555-2671"),
            ("415.555.2671", "415.555.2671"),
            ("1-800-555-0199", "1-800-555-0199"),
            ("UK 020 7946 0958", "020 7946 0958"),
            ("mobile 07700 900123", "07700 900123"),
            ("Paris 01 23 45 67 89", "01 23 45 67 89"),
        ])
    func phones(text: String, expected: String) {
        #expect(matches(Self.pii([.phoneNumber]), text) == [expected])
    }

    @Test(
        "plain numbers, dates, versions and addresses are not phones",
        arguments: [
            "invoice 4155552671", "on 2024-01-15", "version 1.2.3", "host 192.168.1.100", "at 12:30",
            "ISBN 978-3-16-148410-0", "order 1234-5678-90", "pi is 3.1415926535", "+0 123 456 789",
            "id=415-555-2671x", "12 345 678",
        ])
    func phoneNearMisses(text: String) {
        #expect(matches(Self.pii([.phoneNumber]), text) == [])
    }

    @Test(
        "credit card numbers with a valid Luhn sum and issuer are found",
        arguments: [
            ("Visa 4111 1111 1111 1111 exp 12/27", "4111 1111 1111 1111"),
            ("card:4111-1111-1111-1111.", "4111-1111-1111-1111"),
            ("5555555555554444", "5555555555554444"),
            ("Amex 3782 822463 10005", "3782 822463 10005"),
            ("Discover 6011111111111117", "6011111111111117"),
            ("Mastercard 2223 0031 2200 3222", "2223 0031 2200 3222"),
        ])
    func creditCards(text: String, expected: String) {
        #expect(matches(Self.pii([.creditCard]), text) == [expected])
    }

    @Test(
        "near misses: failing Luhn, unknown issuer, odd grouping, longer numbers",
        arguments: [
            "4111 1111 1111 1112",  // 16 digits, Luhn fails
            "4111111111111112",
            "9111111111111111",  // no issuer starts with 9 (Luhn-valid otherwise irrelevant)
            "41 1111 1111 1111 11",  // grouping no card uses
            "41111111111111111111",  // 20 digits
            "4111 1111 1111 1111 1111 1",
            "x4111111111111111",
            "4111111111111111.5",
        ])
    func creditCardNearMisses(text: String) {
        #expect(matches(Self.pii([.creditCard]), text) == [])
    }

    @Test("the Luhn check and issuer prefixes")
    func luhn() {
        #expect(NumberRunDetector.luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]))
        #expect(!NumberRunDetector.luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]))
        #expect(NumberRunDetector.luhn([7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]))
        #expect(NumberRunDetector.hasIssuerPrefix([2, 7, 2, 0]))
        #expect(!NumberRunDetector.hasIssuerPrefix([2, 7, 2, 1]))
        #expect(!NumberRunDetector.hasIssuerPrefix([5, 6]))
    }

    @Test(
        "US SSNs follow the area, group and serial rules",
        arguments: [
            ("SSN 123-45-6789", ["123-45-6789"]), ("ssn: 078 05 1120", ["078 05 1120"]),
            ("000-12-3456", []), ("666-12-3456", []), ("900-12-3456", []), ("999-45-6789", []),
            ("123-00-4567", []), ("123-45-0000", []), ("123456789", []), ("123-45 6789", []),
            ("123-45-67890", []), ("ref 1123-45-6789", []),
        ])
    func ssns(text: String, expected: [String]) {
        #expect(matches(Self.pii([.usSSN]), text) == expected)
    }

    @Test(
        "IBANs need a known country length and a valid mod-97 check",
        arguments: [
            ("Pay to DE89 3704 0044 0532 0130 00 please", ["DE89 3704 0044 0532 0130 00"]),
            ("DE89370400440532013000", ["DE89370400440532013000"]),
            ("GB82 WEST 1234 5698 7654 32", ["GB82 WEST 1234 5698 7654 32"]),
            ("FR1420041010050500013M02606.", ["FR1420041010050500013M02606"]),
            ("DE89370400440532013001", []),  // check digits wrong
            ("DE8937040044053201300", []),  // one character short
            ("ZZ89370400440532013000", []),  // no such country
            ("XDE89370400440532013000", []),  // glued to a word
            ("de89370400440532013000", []),  // lowercase is not taken
        ])
    func ibans(text: String, expected: [String]) {
        #expect(matches(Self.pii([.ibanCode]), text) == expected)
    }

    @Test(
        "IP addresses, v4 and v6",
        arguments: [
            ("server 192.168.1.10 is down", ["192.168.1.10"]), ("10.0.0.1:8080", ["10.0.0.1"]),
            ("2001:db8::1", ["2001:db8::1"]), ("link fe80::1ff:fe23:4567:890a.", ["fe80::1ff:fe23:4567:890a"]),
            ("::1", ["::1"]), ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", ["2001:0db8:85a3:0000:0000:8a2e:0370:7334"]),
            ("::ffff:192.0.2.128", ["::ffff:192.0.2.128"]),
            ("12:30:45", []), ("00:1A:2B:3C:4D:5E", []), ("256.1.1.1", []), ("1.2.3.4.5", []),
            ("10.0.19041.1", []), ("01.02.03.04", []), ("std::vector", []), ("v1.2.3.4b", []),
        ])
    func ipAddresses(text: String, expected: [String]) {
        #expect(matches(Self.pii([.ipAddress]), text) == expected)
    }

    @Test(
        "PERSON: honorifics and 'my name is' followed by capitalized names",
        arguments: [
            ("Please call Dr. Smith tomorrow", ["Smith"]), ("Mr John Smith signed", ["John Smith"]),
            ("my name is Alice Johnson.", ["Alice Johnson"]), ("Ms. O'Brien and Mrs Smith-Jones", ["O'Brien", "Smith-Jones"]),
            ("Prof. Müller", ["Müller"]),
            ("Dr. visits are free", []), ("MS Word", []), ("my name is not important", []), ("Drew Smith", []),
        ])
    func persons(text: String, expected: [String]) {
        #expect(matches(Self.pii([.person]), text) == expected)
    }

    @Test("masking replaces each entity with its placeholder, exactly")
    func maskExact() {
        let scanner = Self.pii(PIIEntity.allCases)
        let text =
            "Contact jane.doe@example.com or (415) 555-2671, card 4111-1111-1111-1111, SSN 123-45-6789, "
            + "IBAN DE89 3704 0044 0532 0130 00 from 10.0.0.1; ask Dr. Jane Roe."
        let verdict = scanner.scan(text, direction: .input)
        #expect(verdict.decision == .mask(
            "Contact <EMAIL_ADDRESS> or <PHONE_NUMBER>, card <CREDIT_CARD>, SSN <US_SSN>, "
                + "IBAN <IBAN_CODE> from <IP_ADDRESS>; ask Dr. <PERSON>."))
        #expect(verdict.findings.map(\.rule) == [
            "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "PERSON",
        ])
        // Offsets are UTF-8 bytes into the text.
        #expect(verdict.findings[0].range == 8..<28)
    }

    @Test("masking keeps non-ASCII text around matches byte for byte")
    func maskUnicode() {
        // Internationalized local parts are not matched (documented on EmailDetector).
        let verdict = Self.pii([.emailAddress]).scan("Grüße an björn@example.de 👋", direction: .input)
        #expect(verdict.decision == .allow)
        let ascii = Self.pii([.emailAddress]).scan("Grüße an bjorn@example.de 👋", direction: .input)
        #expect(ascii.decision == .mask("Grüße an <EMAIL_ADDRESS> 👋"))
    }
}
