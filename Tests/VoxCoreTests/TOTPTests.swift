import CryptoPrimitives
import Foundation
import QRCode
import Testing

/// RFC 6238 Appendix B (SHA-1, the 20-byte ASCII secret "12345678901234567890", 8 digits)
/// and RFC 4648 §10's base32 vectors.
struct TOTPTests {
    static let secret = Array("12345678901234567890".utf8)

    @Test(arguments: [
        (UInt64(59), "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"), (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
    ])
    func rfc6238Vectors(time: UInt64, expected: String) {
        #expect(TOTP.code(secret: Self.secret, unixTime: time, digits: 8) == expected)
        // Six digits are the same truncation, modulo 10^6.
        #expect(TOTP.code(secret: Self.secret, unixTime: time) == String(expected.suffix(6)))
    }

    @Test func acceptsOneStepEitherSideAndNoMore() {
        let now: UInt64 = 1_790_000_015
        let previous = TOTP.code(secret: Self.secret, unixTime: now - 30)
        let next = TOTP.code(secret: Self.secret, unixTime: now + 30)
        let stale = TOTP.code(secret: Self.secret, unixTime: now - 60)
        #expect(TOTP.matchingStep(previous, secret: Self.secret, unixTime: now) == now / 30 - 1)
        #expect(TOTP.matchingStep(next, secret: Self.secret, unixTime: now) == now / 30 + 1)
        #expect(TOTP.matchingStep(stale, secret: Self.secret, unixTime: now) == nil || stale == previous || stale == next)
        for junk in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            #expect(TOTP.matchingStep(junk, secret: Self.secret, unixTime: now) == nil)
        }
    }

    @Test func base32MatchesRFC4648() {
        for (plain, encoded) in [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB"),
                                 ("foobar", "MZXW6YTBOI")] {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
            #expect(Base32.decode(encoded.lowercased() + "==") == Array(plain.utf8))
        }
        #expect(Base32.decode("MZ1W") == nil)
    }

    @Test func qrCodeHasItsFinderPatterns() throws {
        let modules = try QRCode.modules("otpauth://totp/VoxFCGI:a%40b.c?secret=JBSWY3DPEHPK3PXP&issuer=VoxFCGI")
        let width = modules.count
        #expect(width >= 21 && (width - 21) % 4 == 0)
        // Each 7×7 finder pattern: a dark ring, a light ring, a dark 3×3 core.
        for (top, left) in [(0, 0), (0, width - 7), (width - 7, 0)] {
            for y in 0..<7 {
                for x in 0..<7 {
                    let ring = max(abs(y - 3), abs(x - 3))
                    #expect(modules[top + y][left + x] == (ring != 2), "finder at \(top),\(left): \(y),\(x)")
                }
            }
        }
        let svg = try QRCode.svg("hello")
        #expect(svg.hasPrefix("<svg") && svg.contains("<path") && !svg.contains("script"))
    }
}
