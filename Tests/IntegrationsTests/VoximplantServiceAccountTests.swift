import CryptoPrimitives
import Foundation
import HTTPTransport
@testable import Integrations
import Testing

/// The service-account file and its tokens. The expected token below was made outside this
/// code, by the OpenSSL command line (`openssl dgst -sha256 -sign key.pem` over the JWS
/// signing input); RS256 is deterministic, so our signer must produce it byte for byte.
/// The fake Voximplant (PyJWT, the public key) checks live tokens in `VoximplantClientTests`.
struct VoximplantServiceAccountTests {
    /// Test keys made for these tests only; they open nothing.
    static let rsa2048 = """
-----BEGIN RSA PRIVATE KEY-----
MIIEogIBAAKCAQEAn892ZcB/xcPVWcmdDkghcYWY5N7MNv2c8McR20uDOwUJkyNs
XUzXwO4AwTBJ+CukYlcB/tLLwpC+g5TdGo1rJUSHR6zgkghEhodx7JbCF2RSeYk4
BJG19peAbnn7G8Wa4uPG1VX+Uf1c0KpXl0EhCNa6KYK6XPoOZRUxhfQN5USx5KqV
oXcTEWT1Zb3WNMD792NXt8P5F5aCdpEt0iRLpxN0fSSxVJr57ogmBcYzJZ2u7Kiv
PXpOSrPjopxuWiiq2Zrl9PSMBgA5rYkB+iB3g2J5t64mwIiIpvs56wJS8I1RAPp0
jpBtopwRSpQxgThdTr1iXMxtVy5lxNpxok03WwIDAQABAoIBAByXpEHJQrMR+iKR
4WE0Q5OJiRTtzdDK6GDl5Qp8xLJzEMb8D//TZ0iz7HukFZ/qwwL7OTar5VvexM9K
+5IsGi71R1TqF9XY19XP9vCS+o/v2Ze4FscugMVpTse1WFmcLb2JbkIuHA30TD5j
M7+yneP0cyNJKenHrXqlY5JpW3EY5G/mvgZ1kVH/ATKxMS4a94Yc8wDTSWLkCQEz
XknQqNUkG0nLavQE5yxsEiUc8/1RwnCmloHljaPqe2NynXqg4kVgs73tCTCTNiEk
FqvmkKcL+SeOg4oK8zDjSBS1yymxXxkq2ZB4YSJHc5pq8eBlfL/Q2MypE/KEGzOk
SkJq6TkCgYEAy9OJ/fjDmqqaRgMV8/0/aBCn4Mc9V2nK2BsQSeZHEAJB2jEgoRbA
vs3QcDuFomW4bNJt0aASTVszMX4m2m5P2GLYQZTeFCAOKuMXITDhX88G3oaKSbEQ
xxlcYHJNFGm9VjomM8VgsJItco7IEUBANI/4pkSIO9LU6x2rurkR96kCgYEAyLee
uMv1fImWB/p45wCrhAFboI7GOct1A3Zyp9VmQIy0r9C1++13puBT1a8GTW7pk0+1
a6BaNF0AkxkHnmVLb3UiZeBTy0ZtOQpYNPOeYWjTHUVXttdIC+Advf7DjCc9IEjV
Wb6hrnGWBRPWP/29BZ7eZYnlzBGr+vg8nPrpiWMCgYB4WFtGeCXN4WMbaWEB4YoZ
gJQOlLT0MsOQm1Ifv/Y/ToXhNVaFpnCBd/XU/l/lxdeBcTFkLvX/dJSiaVC5cZ51
Lc9v0VzaVx7mVZTnhPvc3Ni6dIecAQ7d72xqibJXFiOzkLvTn3t6ZaSt2f3oqZ3/
Ku5uBVLGt7H9bFRj+DfSmQKBgBRQiU74zaLKJhYuopf2uGVG4egxKxzkW7Z7AYW9
EnlMBGma/SA/W5HXOITzDvc9V4SiV6FJ/Hc6Rnmc2emNJQJl35JiDvkO6rUQN/c8
BPak7mETCJqn1VHmX/w/0bjYq9YdqQJJSgHm2yEubcvSOZRdDPNH7qslyrs+7puQ
xZwzAoGAFneV0NP8xHoqUJROPNcXaRXwAaj7qVs45zHzqSz1fR549V6R3YYHtFKO
OpeKdN6q0JVM7FO+Hhw71DtajGjOF8IkqPIoZGHSnVs4Ja8I5frx8o7B+gKMVq8D
NcU95GXe79Zr9ikNNOhPbSYCrszTDzpOSWl+AeSfs2EVA09680I=
-----END RSA PRIVATE KEY-----
"""
    static let rsa1024 = """
-----BEGIN PRIVATE KEY-----
MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAPCsKTDPj7Som/ri
kJ15EW/h9c88kaQwcHSVZSYdforphiWi/+1vFmqzLUuh2TfSkKVfOwwEAWsPvKlx
d6DkYiCHVHqA1+sZle349EtxhsKChlwFvcTCSBdFo/U1kfcd/pVAtsQ/ypYYHUkK
2xeloa6tlnKBu+//pXj8E6Y8U3mbAgMBAAECgYAVvXd7EUTJ7PEqGI03rFgG40Jx
FeeSDU4bOeOJLeDga3fSroavy/kaalUNH/GfOUYXqiKLU1FNen5wT++eeQLkAHif
N+JawXUUrjQu2pF/792xGKb11hq7dnYXjSyuF9QdVCqlRLaz+7DPWTKMMTkRu71q
Y70FYg3eKscFydzEAQJBAP+AVYPiVw9mMx/m9ohj/pwkjOtXBNWCMKyCrQ80CENE
fUnOpbIpxMUWFAOi2MJ5qjNWm9Db5F+cYaNK+uYIlVECQQDxJGrY6bOztP/lH3K3
TeZveqztFHrc1b8b1JFZYkn9Od7fCZ0yeQD2G3yNXV/vYgIxozS9Aj7deSsJrwt4
xtUrAkEAnjhSvIEFeLvJHRBhysRhf0ADJBmXHMCqc6nYkXmfREi9bV9SrKnA+Gtb
qYTGxmehRnlztDr3iV3F+OENzjWygQJALGWKDnmojjOK0YJiuoDrJict41Bb9oCb
+OHACPbhrG+VKvc4K+y/UpBo9BX27bnbsYvcz9ez/06pr9S8hfYFlQJAUy+lYVcK
z1+mlIx8Eg3qrLRiBmLRkt3zIA3mX4+0cv+iQSCq8X2VcVGG2Wyyn1mR8uw9Wh7A
wVnxJUI2Y3zv1Q==
-----END PRIVATE KEY-----
"""

    static func file(accountID: Any = 1234567, keyID: Any = "0b1c2d3e-vector", key: String = rsa2048) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: ["account_id": accountID, "key_id": keyID, "private_key": key,
                                                             "account_email": "ops@acme.example"]))
    }

    @Test func tokenMatchesTheOpenSSLSignatureOfTheSameInput() throws {
        let account = try VoximplantServiceAccount(json: Self.file())
        let token = try account.token(at: Date(timeIntervalSince1970: 1_790_000_000.9))
        #expect(token == "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjBiMWMyZDNlLXZlY3RvciJ9.eyJpc3MiOjEyMzQ1NjcsImlhdCI6MTc5MDAwMDAwMCwiZXhwIjoxNzkwMDAwMDY0fQ.TAQl7ZlLR39SAPRHMpXayR_Sxq7jnMdi5Gj6NsDPyme2U0RuKnW7fOZQDI5zzGU0-VMpMwqU6rgTOiXzos_h2Luo-78wtnB6gl54ZLpN862wprmwBtvAX4uEhUOxh9-DYTlI4USp6osHCB8cR94j9JDJ7WwYtCSh6AzCr5TGb27ru29tswrWVkTVthOYjrjw-25J_Z9eHuuhIPPGGuDqOUSOfD4As8ApC-4K1HHGIu4uPu40JQ1tfrQ7yK39b3tAtMAxkPYDCMY4fzqwBmUnP1A0OaBmbK9S26C5IwGh_K343cRawFAG4AXoqMABxV88o1jD4sgANuvOvkJAfsZTng")
    }

    @Test func headerAndClaimsAreWhatTheSDKsSend() throws {
        let token = try VoximplantServiceAccount(json: Self.file(accountID: "7654321")).token(at: Date(timeIntervalSince1970: 1_800_000_000))
        let parts = token.split(separator: ".").map { [UInt8](base64URL: String($0)) ?? [] }
        #expect(parts.count == 3)
        let header = try JSONSerialization.jsonObject(with: Data(parts[0])) as? [String: Any]
        let claims = try JSONSerialization.jsonObject(with: Data(parts[1])) as? [String: Any]
        #expect(header?["alg"] as? String == "RS256" && header?["kid"] as? String == "0b1c2d3e-vector")
        // `iss` is the account id as a number (apiclient-nodejs signs `key.account_id`, a number).
        #expect(claims?["iss"] as? Int == 7_654_321)
        #expect(claims?["iat"] as? Int == 1_800_000_000 && claims?["exp"] as? Int == 1_800_000_064)
        #expect(parts[2].count == 256)
    }

    @Test func wrappedInACreateKeyResultStillReads() throws {
        let inner = try JSONSerialization.jsonObject(with: Data(Self.file()))
        let wrapped = Array(try JSONSerialization.data(withJSONObject: ["result": inner]))
        #expect(try VoximplantServiceAccount(json: wrapped).keyID == "0b1c2d3e-vector")
    }

    @Test func unusableFilesAreRefusedWithAReason() throws {
        #expect(throws: VoximplantServiceAccount.Failure.notJSON) { try VoximplantServiceAccount(json: Array("-----BEGIN".utf8)) }
        for odd: Any in ["x", true, 1.9, "12345678901234567890123", -5, 0] {
            #expect(throws: VoximplantServiceAccount.Failure.missing("account_id")) { try VoximplantServiceAccount(json: Self.file(accountID: odd)) }
        }
        #expect(throws: VoximplantServiceAccount.Failure.missing("key_id")) { try VoximplantServiceAccount(json: Self.file(keyID: "a\"b")) }
        #expect(throws: VoximplantServiceAccount.Failure.key(.unreadable)) { try VoximplantServiceAccount(json: Self.file(key: "not a key")) }
        #expect(throws: VoximplantServiceAccount.Failure.key(.tooShort(bits: 1024))) {
            try VoximplantServiceAccount(json: Self.file(key: Self.rsa1024))
        }
        // The messages a page shows never quote the key.
        let message = VoximplantServiceAccount.Failure.key(.unreadable).description
        #expect(!message.contains("BEGIN"))
    }

    @Test func apiAddressIsHonouredOnlyUnderVoximplant() {
        #expect(VoximplantAPIAddress.baseURL(from: "api-de.voximplant.com") == "https://api-de.voximplant.com/platform_api")
        #expect(VoximplantAPIAddress.baseURL(from: "https://API.voximplant.com/") == "https://api.voximplant.com/platform_api")
        for hostile in ["http://api.voximplant.com", "api.voximplant.com.evil.example", "evil.example", "voximplant.com",
                        "https://user@api.voximplant.com", "api.voximplant.com:8443", "-x.voximplant.com", ""] {
            #expect(VoximplantAPIAddress.baseURL(from: hostile) == nil, "\(hostile)")
        }
    }
}
