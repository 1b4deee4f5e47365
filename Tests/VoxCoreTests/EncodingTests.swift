import CryptoPrimitives
import Foundation
import Testing

struct EncodingTests {
    /// The hand-written base64url against Foundation's base64 with the alphabet swapped, for
    /// every tail length; and back through the decoder.
    @Test func base64URLMatchesFoundationForEveryLength() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let expected = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(bytes.base64URLString == expected, "length \(length)")
            #expect([UInt8](base64URL: bytes.base64URLString) == bytes)
        }
        #expect([UInt8]([0xFB, 0xFF]).base64URLString == "-_8")
    }
}
