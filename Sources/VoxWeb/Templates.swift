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

    /// Renders a page's values: a struct whose properties are the template's names (nested
    /// structs and arrays of them for sections; a nil optional is an absent name). `extra` adds
    /// names every page has (the CSRF token).
    public func render(_ name: String, _ values: some Encodable, adding extra: [String: Any] = [:]) -> String {
        var context = TemplateEncoder.dictionary(values)
        context.merge(extra) { _, new in new }
        return library.render(context, withTemplate: name) ?? "template \(name) missing"
    }
}
