import CryptoPrimitives
import Foundation

/// A Voximplant service-account key: the JSON file the control panel downloads when a key is
/// created (Settings → Service accounts). Both official SDKs read exactly these members:
/// apiclient-nodejs 4.8.0 `src/index.ts` `VoximplantApiClientKey` {account_email, account_id,
/// key_id, private_key}; apiclient-python 2.2.0 `client.py` reads `account_id`, `key_id` and
/// `private_key` from the same file.
///
/// The file is also accepted inside `{"result": {…}}`, the shape of the CreateKey answer
/// (apiclient-nodejs `src/Interfaces.ts` CreateKeyResponse, result: KeyInfo) for someone who
/// saved that instead. [unconfirmed that the console's download is never wrapped]
public struct VoximplantServiceAccount: Sendable {
    public let accountID: UInt64
    public let keyID: String
    public let accountEmail: String?
    let privateKey: RSAPrivateKey

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notJSON
        case missing(String)
        case key(RSAPrivateKey.Failure)

        public var description: String {
            switch self {
            case .notJSON: "The service account file is not JSON: paste the whole file the Voximplant control panel downloaded."
            case let .missing(field): "The service account file has no usable “\(field)”."
            case let .key(failure): "The service account file's private key cannot be used: \(failure)."
            }
        }
    }

    private struct File: Decodable {
        let accountID: UInt64?
        let keyID: String?
        let privateKey: String?
        let accountEmail: String?
        enum CodingKeys: String, CodingKey {
            case accountID = "account_id", keyID = "key_id", privateKey = "private_key", accountEmail = "account_email"
        }

        /// Any member of the wrong type reads as absent, so the message names it, not "not JSON".
        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // A whole JSON number or a string of digits; nothing rounded, nothing from a bool.
            accountID = (try? container.decodeIfPresent(UInt64.self, forKey: .accountID))
                ?? (try? container.decodeIfPresent(String.self, forKey: .accountID)).flatMap { text in
                    text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? UInt64(text) : nil
                }
            keyID = try? container.decodeIfPresent(String.self, forKey: .keyID)
            privateKey = try? container.decodeIfPresent(String.self, forKey: .privateKey)
            accountEmail = try? container.decodeIfPresent(String.self, forKey: .accountEmail)
        }
    }

    private struct Wrapped: Decodable { let result: File }

    /// Parses and checks the file: the private key must load as RSA of at least 2048 bits, so
    /// that a bad file is refused when it is saved, not at the first sync.
    public init(json: some Collection<UInt8>) throws {
        let data = Data(json)
        guard let direct = try? JSONDecoder().decode(File.self, from: data) else { throw Failure.notJSON }
        let file = direct.keyID == nil && direct.privateKey == nil
            ? (try? JSONDecoder().decode(Wrapped.self, from: data))?.result ?? direct : direct
        guard let accountID = file.accountID, accountID > 0 else { throw Failure.missing("account_id") }
        // A key id is a UUID in Voximplant's examples; the limit only keeps a header small.
        guard let keyID = file.keyID, (1...128).contains(keyID.utf8.count),
              keyID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { throw Failure.missing("key_id") }
        guard let pem = file.privateKey, !pem.isEmpty else { throw Failure.missing("private_key") }
        do {
            privateKey = try RSAPrivateKey(pem: pem)
        } catch let failure as RSAPrivateKey.Failure {
            throw Failure.key(failure)
        }
        self.accountID = accountID
        self.keyID = keyID
        self.accountEmail = file.accountEmail
    }

    /// How long a token lives. apiclient-nodejs signs `exp = iat + 64` for each request; the
    /// Voximplant docs cap a token at an hour. A new token per request keeps a leaked one short-lived.
    public static let tokenLifetime: TimeInterval = 64

    /// The bearer token for one request: RS256 JWS (RFC 7515 compact form), header
    /// `{"alg":"RS256","typ":"JWT","kid":<key_id>}`, claims `{"iss":<account_id>,"iat","exp"}`,
    /// as both SDKs build it (`iss` a number, as the file holds it).
    public func token(at now: Date) throws -> String {
        let issued = Int64(now.timeIntervalSince1970.rounded(.down))
        let header = #"{"alg":"RS256","typ":"JWT","kid":"\#(keyID)"}"#
        let claims = #"{"iss":\#(accountID),"iat":\#(issued),"exp":\#(issued + Int64(Self.tokenLifetime))}"#
        let input = Array(header.utf8).base64URLString + "." + Array(claims.utf8).base64URLString
        return input + "." + (try privateKey.signSHA256(Array(input.utf8))).base64URLString
    }
}
