import CQRencode

/// A QR code drawn as SVG on the server (libqrencode makes the modules; no script, no CDN):
/// what a phone's authenticator app scans to enrol for two-factor sign-in.
public enum QRCode {
    public enum Failure: Error { case notEncodable }

    /// An SVG of `text` (error correction M), one path of unit squares with a 4-module quiet
    /// zone, scaled by the viewBox to `size` pixels.
    public static func svg(_ text: String, size: Int = 220) throws -> String {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { throw Failure.notEncodable }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let quiet = 4
        var path = ""
        path.reserveCapacity(width * width * 4)
        for y in 0..<width {
            for x in 0..<width where code.pointee.data[y * width + x] & 1 == 1 {
                path += "M\(x + quiet) \(y + quiet)h1v1h-1z"
            }
        }
        let side = width + 2 * quiet
        return #"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(side) \#(side)" width="\#(size)" height="\#(size)" "#
            + #"shape-rendering="crispEdges" role="img" aria-label="QR code"><rect width="100%" height="100%" fill="white"/>"#
            + #"<path fill="black" d="\#(path)"/></svg>"#
    }

    /// The module matrix, for tests: `true` is dark.
    public static func modules(_ text: String) throws -> [[Bool]] {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { throw Failure.notEncodable }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        return (0..<width).map { y in (0..<width).map { x in code.pointee.data[y * width + x] & 1 == 1 } }
    }
}
