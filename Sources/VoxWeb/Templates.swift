import Foundation
import Mustache

/// Mustache templates, loaded once at start. `{{x}}` is HTML-escaped; `{{{x}}}` (raw) is used
/// only for HTML that a template rendered itself (the page inside the layout).
public struct Templates: Sendable {
    let library: MustacheLibrary

    public enum LoadError: Error, CustomStringConvertible {
        case missing(String)
        case invalid(name: String, reason: String)
        public var description: String {
            switch self {
            case let .missing(directory): "no templates in \(directory)"
            case let .invalid(name, reason): "template \(name) does not parse: \(reason)"
            }
        }
    }

    /// The templates bundled with the build, or those in `directory` if given.
    public init(directory: String? = nil) throws {
        let folder = directory ?? Bundle.module.bundleURL.appendingPathComponent("Templates").path
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var library = MustacheLibrary()
        for file in files where file.hasSuffix(".mustache") {
            let name = String(file.dropLast(".mustache".count))
            let text = try String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8)
            do {
                try library.register(text, named: name)
            } catch {
                throw LoadError.invalid(name: name, reason: "\(error)")
            }
        }
        guard library.getTemplate(named: "layout") != nil else { throw LoadError.missing(folder) }
        self.library = library
    }

    /// Renders `context`, a struct whose stored properties are the template's names (read by
    /// reflection; nested structs and arrays of them for sections, optionals that are nil for
    /// absent ones).
    public func render(_ name: String, _ context: some Any) -> String {
        library.render(context, withTemplate: name) ?? "template \(name) missing"
    }
}

/// A page's values plus the CSRF token every form on it needs, so no page struct repeats the
/// field. Mustache looks `csrf` up here from any depth of the page (a row's form included).
struct WithCSRF<Values>: MustacheParent {
    let csrf: String
    let values: Values

    func child(named name: String) -> Any? {
        if name == "csrf" { return csrf }
        guard let value = Mirror(reflecting: values).children.first(where: { $0.label == name })?.value else { return nil }
        // A nil optional is an absent name, as the library reads it in nested values.
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first?.value
    }
}
