/// RFC 3986 percent-encoding: every byte of the UTF-8 but the unreserved `A-Z a-z 0-9 - . _ ~`
/// becomes upper-case `%XX` (a space is `%20`, never `+`). This is also SigV4's `UriEncode`,
/// so API paths, form bodies and S3 keys are all encoded by this one function.
public enum PercentEncoding {
    /// `keepSlash`: leave `/` as it is (URL paths); otherwise it is `%2F` (query names and values).
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if unreserved[Int(byte)] || (keepSlash && byte == UInt8(ascii: "/")) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out.append("%")
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return out
    }

    private static let hexDigits = Array("0123456789ABCDEF")
    private static let unreserved: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8 { table[Int(byte)] = true }
        return table
    }()
}
