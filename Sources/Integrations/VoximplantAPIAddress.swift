import Foundation

/// `api_address` from GetAccountInfo: the host Voximplant prefers for an account's API calls
/// (apiclient-nodejs `src/index.ts`, getAccountInfo's response mapper; no SDK uses it, and the
/// docs do not say whether it carries a scheme [unconfirmed], so both forms are read).
///
/// It comes from outside, so it is honoured only when it names a host under voximplant.com,
/// and always over https: an answer cannot point the API key or the JWT anywhere else.
public enum VoximplantAPIAddress {
    public static let allowedSuffix = ".voximplant.com"

    /// The management API base URL on that host, or nil when the value is not acceptable.
    public static func baseURL(from apiAddress: String) -> String? {
        var text = apiAddress.trimmingCharacters(in: .whitespaces).lowercased()
        if text.hasPrefix("https://") { text.removeFirst("https://".count) }
        if let slash = text.firstIndex(of: "/") { text = String(text[..<slash]) }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        guard text.hasSuffix(allowedSuffix), text.utf8.count <= 253, labels.count >= 3,
              labels.allSatisfy({ label in
                  (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                      && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
              })
        else { return nil }
        return "https://\(text)/platform_api"
    }
}
