import Foundation

/// Where a request may go and how much it may bring back, checked before any byte leaves.
///
/// API calls go to base URLs this server was configured with, so they need no allow-list, but
/// they never follow a redirect (a 3xx would carry an API key header elsewhere). A URL that
/// came from outside (a recording URL in a signed event or in call history) is another matter:
/// it must name an allowed origin, every redirect hop is checked again, and it may not reach
/// loopback, private, link-local or multicast addresses after DNS resolution, unless the
/// allow-list names that very address (the tests' fakes).
public struct OutboundPolicy: Sendable {
    /// Origins a URL may name; nil: any (a configured upstream).
    public var allowed: OriginAllowList?
    /// Follow up to 5 redirects, each hop checked like the first; off: a 3xx is the answer.
    public var followRedirects = false
    /// Refuse connections to non-public addresses (see `AddressClass`) not named in `allowed`.
    public var refusePrivateAddresses = false
    /// The most bytes a response body may have; more aborts the transfer.
    public var maxBodyBytes: Int64?
    /// Abandon a transfer slower than this many bytes a second for this many seconds.
    public var lowSpeed: (bytesPerSecond: Int, seconds: Int)?

    public init() {}

    /// For URLs from outside: allow-listed origins, redirects re-checked, no private addresses.
    public static func untrusted(_ allowed: OriginAllowList, maxBodyBytes: Int64, lowSpeed: (bytesPerSecond: Int, seconds: Int)) -> OutboundPolicy {
        var policy = OutboundPolicy()
        policy.allowed = allowed
        policy.followRedirects = true
        policy.refusePrivateAddresses = true
        policy.maxBodyBytes = maxBodyBytes
        policy.lowSpeed = lowSpeed
        return policy
    }

    /// The URL to fetch for `text`, or why not. An `http` URL on an origin allowed only over
    /// https is fetched over https: the host is the same, only the transport gets safer.
    public func resolve(_ text: String) throws(OutboundRefusal) -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else { throw OutboundRefusal("not an absolute URL") }
        guard scheme == "https" || scheme == "http" else { throw OutboundRefusal("the \(scheme) scheme is not fetched") }
        guard let host = url.host, !host.isEmpty else { throw OutboundRefusal("not an absolute URL") }
        guard url.user == nil, url.password == nil else { throw OutboundRefusal("URLs with credentials are not fetched") }
        guard let allowed else { return url }
        if allowed.permits(scheme: scheme, host: host, port: url.port) { return url }
        if scheme == "http", allowed.permits(scheme: "https", host: host, port: url.port), var parts = URLComponents(url: url, resolvingAgainstBaseURL: false) {
            parts.scheme = "https"
            if let upgraded = parts.url { return upgraded }
        }
        throw OutboundRefusal("\(scheme)://\(host) is not an allowed source")
    }
}

/// Why a URL was not fetched (nothing was sent).
public struct OutboundRefusal: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Origins as a setting writes them, comma-separated: `https://*.voximplant.com` (the host or
/// any subdomain), `https://records.example.com:8443`, `http://127.0.0.1:8123` (http only where
/// an entry says so). An entry whose host is an IP address also lets connections reach that
/// address when it is not public.
public struct OriginAllowList: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        let scheme: String
        let host: String
        let wildcard: Bool
        let port: Int?
    }

    let entries: [Entry]

    public init(_ text: String) throws(OutboundRefusal) {
        var entries: [Entry] = []
        for raw in text.split(separator: ",") {
            let item = raw.trimmingCharacters(in: .whitespaces)
            guard !item.isEmpty else { continue }
            guard let url = URL(string: item.replacingOccurrences(of: "://*.", with: "://wildcard.")),
                  let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
                  var host = url.host?.lowercased(), !host.isEmpty, url.path.isEmpty || url.path == "/" else {
                throw OutboundRefusal("“\(item)” is not an origin like https://*.voximplant.com")
            }
            let wildcard = item.contains("://*.")
            if wildcard { host.removeFirst("wildcard.".count) }
            entries.append(Entry(scheme: scheme, host: host, wildcard: wildcard, port: url.port))
        }
        self.entries = entries
    }

    public func permits(scheme: String, host: String, port: Int?) -> Bool {
        let host = host.lowercased()
        let effectivePort = port ?? (scheme == "https" ? 443 : 80)
        return entries.contains { entry in
            entry.scheme == scheme
                && (entry.host == host || (entry.wildcard && host.hasSuffix("." + entry.host)))
                && (entry.port ?? (entry.scheme == "https" ? 443 : 80)) == effectivePort
        }
    }

    /// The IP addresses the entries name literally (as 4 or 16 bytes).
    var literalAddresses: [[UInt8]] { entries.compactMap { AddressClass.bytes(of: $0.host) } }
}

/// Whether an address is one the public internet routes (RFC 6890 and friends): what an
/// untrusted URL may reach.
public enum AddressClass {
    public static func isPublic(_ address: [UInt8]) -> Bool {
        if address.count == 4 { return isPublicV4(address) }
        guard address.count == 16 else { return false }
        // ::ffff:a.b.c.d (mapped) and 64:ff9b::a.b.c.d (NAT64) carry an IPv4 address.
        if address[0..<10].allSatisfy({ $0 == 0 }) && address[10] == 0xFF && address[11] == 0xFF { return isPublicV4(Array(address[12...])) }
        if address[0..<12] == [0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] { return isPublicV4(Array(address[12...])) }
        if address[0..<12].allSatisfy({ $0 == 0 }) { return false }                       // ::, ::1, ::a.b.c.d (IPv4-compatible)
        if address[0] == 0x20 && address[1] == 0x02 { return isPublicV4(Array(address[2..<6])) }  // 2002::/16 6to4 carries one
        if address[0..<6] == [0, 0x64, 0xFF, 0x9B, 0, 0x01] { return false }              // 64:ff9b:1::/48 local NAT64
        if address[0] & 0xFE == 0xFC { return false }                                     // fc00::/7 unique local
        if address[0] == 0xFE && address[1] & 0xC0 == 0x80 { return false }               // fe80::/10 link-local
        if address[0] == 0xFE && address[1] & 0xC0 == 0xC0 { return false }               // fec0::/10 site-local
        if address[0] == 0xFF { return false }                                            // ff00::/8 multicast
        if address[0..<4] == [0x20, 0x01, 0x0D, 0xB8] { return false }                    // 2001:db8::/32 documentation
        return true
    }

    static func isPublicV4(_ a: [UInt8]) -> Bool {
        switch (a[0], a[1]) {
        case (0, _), (10, _), (127, _): return false                   // this network, private, loopback
        case (100, 64...127): return false                              // carrier-grade NAT
        case (169, 254): return false                                   // link-local (cloud metadata)
        case (172, 16...31): return false                               // private
        case (192, 168): return false                                   // private
        case (192, 0) where a[2] == 0 || a[2] == 2: return false        // IETF protocol, TEST-NET-1
        case (198, 18...19): return false                               // benchmarking
        case (198, 51) where a[2] == 100, (203, 0) where a[2] == 113: return false  // TEST-NET-2, -3
        case (224...255, _): return false                               // multicast, reserved, broadcast
        default: return true
        }
    }

    static func text(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(cString: buffer)
    }

    /// The bytes of an IPv4 or IPv6 literal (brackets allowed), else nil.
    static func bytes(of host: String) -> [UInt8]? {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, bare, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
