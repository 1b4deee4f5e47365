import Foundation
import Testing
@testable import VoxCore

/// `PhoneNumber.display` against libphonenumber itself. Every expectation in `libphonenumber`
/// is what Python's phonenumbers 9.0.43 (libphonenumber's metadata, the version
/// PhoneFormats.generated.swift was generated from) printed for
/// `format_number(parse("+" + digits), PhoneNumberFormat.INTERNATIONAL)`, pasted as it was.
/// After regenerating the formats from a newer version, regenerate these the same way.
struct PhoneFormatTests {
    static let libphonenumber: [(String, String)] = [
        ("79991234567", "+7 999 123-45-67"), ("74951234567", "+7 495 123-45-67"), ("78123456789", "+7 812 345-67-89"),  // RU RU RU
        ("78005553535", "+7 800 555-35-35"), ("77012345678", "+7 701 234 5678"), ("77172123456", "+7 7172 12 34 56"),  // RU KZ KZ
        ("12125550100", "+1 212-555-0100"), ("12025550100", "+1 202-555-0100"), ("14165550123", "+1 416-555-0123"),  // US US CA
        ("16045550199", "+1 604-555-0199"), ("18005550100", "+1 800-555-0100"), ("442079460000", "+44 20 7946 0000"),  // CA US GB
        ("447911123456", "+44 7911 123456"), ("441614960000", "+44 161 496 0000"), ("493012345678", "+49 30 12345678"),  // GG GB DE
        ("4930123456", "+49 30 123456"), ("4915112345678", "+49 1511 2345678"), ("498912345678", "+49 89 12345678"),  // DE DE DE
        ("33123456789", "+33 1 23 45 67 89"), ("33612345678", "+33 6 12 34 56 78"), ("390612345678", "+39 06 1234 5678"),  // FR FR IT
        ("393123456789", "+39 312 345 6789"), ("34912345678", "+34 912 34 56 78"), ("34612345678", "+34 612 34 56 78"),  // IT ES ES
        ("31201234567", "+31 20 123 4567"), ("31612345678", "+31 6 12345678"), ("5511912345678", "+55 11 91234-5678"),  // NL NL BR
        ("552123456789", "+55 21 2345-6789"), ("919876543210", "+91 98765 43210"), ("911123456789", "+91 11 2345 6789"),  // BR IN IN
        ("8613812345678", "+86 138 1234 5678"), ("861012345678", "+86 10 1234 5678"), ("81312345678", "+81 3-1234-5678"),  // CN CN JP
        ("819012345678", "+81 90-1234-5678"), ("61212345678", "+61 2 1234 5678"), ("61412345678", "+61 412 345 678"),  // JP AU AU
        ("97142345678", "+971 4 234 5678"), ("971501234567", "+971 50 123 4567"), ("902123456789", "+90 212 345 67 89"),  // AE AE TR
        ("905321234567", "+90 532 123 45 67"), ("97221234567", "+972 2-123-4567"), ("972521234567", "+972 52-123-4567"),  // TR IL IL
        ("380441234567", "+380 44 123 4567"), ("380501234567", "+380 50 123 4567"), ("48221234567", "+48 22 123 45 67"),  // UA UA PL
        ("48512345678", "+48 512 345 678"), ("375171234567", "+375 17 123-45-67"), ("375291234567", "+375 29 123-45-67"),  // PL BY BY
        ("41441234567", "+41 44 123 45 67"), ("4312345678", "+43 1 2345678"), ("46812345678", "+46 8 123 456 78"),  // CH AT SE
        ("4722123456", "+47 22 12 34 56"), ("4520123456", "+45 20 12 34 56"), ("3225123456", "+32 2 512 34 56"),  // NO DK BE
        ("351211234567", "+351 21 123 4567"), ("353112345678", "+353 1 1234 5678"), ("525512345678", "+52 55 1234 5678"),  // PT IE MX
        ("541112345678", "+54 11 1234-5678"), ("82212345678", "+82 2-1234-5678"), ("6561234567", "+65 6123 4567"),  // AR KR SG
        ("85221234567", "+852 2123 4567"), ("27211234567", "+27 21 123 4567"), ("20212345678", "+20 2 12345678"),  // HK ZA EG
        ("2348012345678", "+234 801 234 5678"), ("6621234567", "+66 2 123 4567"), ("62211234567", "+62 21 1234567"),  // NG TH ID
        ("84912345678", "+84 912 345 678"), ("420212345678", "+420 212 345 678"), ("995322123456", "+995 32 212 34 56"),  // VN CZ GE
        ("37410123456", "+374 10 123456"), ("998712345678", "+998 71 234 56 78"), ("80012345678", "+800 1234 5678"),  // AM UZ intl
        ("8823421234", "+882 34 21234"), ("870301234567", "+870 301 234 567"), ("971412345", "+971 412345"),  // intl intl AE
    ]

    @Test(arguments: libphonenumber)
    func formatsAsLibphonenumberDoes(digits: String, expected: String) {
        #expect(PhoneNumber.display(digits) == expected)
        #expect(PhoneNumber.display("+" + digits) == expected)
    }

    /// The same cases from 8 tasks at once: every request thread shares the compiled formats.
    @Test func concurrentCallsAgree() async {
        let cases = Self.libphonenumber
        let wrong = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { cases.filter { PhoneNumber.display($0.0) != $0.1 }.count }
            }
            return await group.reduce(0, +)
        }
        #expect(wrong == 0)
    }

    @Test func separatorsInTheInputDoNotMatter() {
        #expect(PhoneNumber.display("+7 (999) 123-45-67") == "+7 999 123-45-67")
        #expect(PhoneNumber.display("+1 (212) 555-01-00") == "+1 212-555-0100")
        #expect(PhoneNumber.display(" 44 20 7946 0000 ") == "+44 20 7946 0000")
        #expect(PhoneNumber.display("+49-30-123456") == "+49 30 123456")
        #expect(PhoneNumber.display("+33.1.23.45.67.89") == "+33 1 23 45 67 89")
    }

    /// Fewer than 4 digits is an extension or a short code: the digits (where libphonenumber
    /// would print `+1 23`, which reads as an American number), with `+` only if written so.
    /// Text without digits is shown as it is.
    @Test func tooShortForACallingCode() {
        #expect(PhoneNumber.display("1") == "1")
        #expect(PhoneNumber.display("123") == "123")
        #expect(PhoneNumber.display("+7") == "+7")
        #expect(PhoneNumber.display("x;=HYPERLINK(1)") == "1")
        #expect(PhoneNumber.display("") == "")
        #expect(PhoneNumber.display("anonymous") == "anonymous")
    }

    /// What libphonenumber cannot parse (an unassigned calling code, none at all, a national
    /// number of one digit) is `+` and the digits.
    @Test func unknownCallingCode() {
        #expect(PhoneNumber.display("+999 123 4567") == "+9991234567")
        #expect(PhoneNumber.display("+0123456789") == "+0123456789")  // not +1: no code starts with 0
        #expect(PhoneNumber.display("+2901") == "+2901")
    }

    /// A known calling code whose formats do not fit shows `+CC` and the national digits, as
    /// libphonenumber prints it (phonenumbers 9.0.43): a short number, a code with no formats
    /// at all (Saint Helena), and libphonenumber's longest national number, 17 digits.
    @Test func knownCodeWithoutAFittingFormat() {
        #expect(PhoneNumber.display("+7 999") == "+7 999")
        #expect(PhoneNumber.display("+290 22158") == "+290 22158")
        #expect(PhoneNumber.display("+44 20794600000000000") == "+44 20794600000000000")
    }

    @Test func tooLongIsDigitsAndDoesNotTrap() {
        // 18 national digits: more than libphonenumber parses.
        #expect(PhoneNumber.display("+44 207946000000000000") == "+44207946000000000000")
        let huge = String(repeating: "7", count: 100_000)
        #expect(PhoneNumber.display(huge) == "+" + huge)
        let typed = String(repeating: "+7 (999) 123-45-67 ", count: 1_000)
        #expect(PhoneNumber.display(typed) == "+" + PhoneNumber.digits(typed))
    }

    /// Every pattern of the generated table compiles, and runs: `Regex` compiles its program at
    /// its first match, and a pattern it cannot run would trap there, in production.
    @Test func everyGeneratedFormatCompilesAndRuns() {
        #expect(PhoneNumber.formatsByCallingCode.count > 200)
        for (code, formats) in PhoneNumber.formatsByCallingCode {
            let compiled = CompiledFormats.shared.formats(callingCode: code)
            #expect(compiled.count == formats.count, "+\(code)")
            for format in compiled { _ = format.apply("1234567890") }
        }
    }
}
