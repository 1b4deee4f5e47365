import Foundation
import Templating

/// The page templates, parsed once at start. `{{x}}` is HTML-escaped; `{{{x}}}` (raw) is used
/// only for HTML that a template rendered itself (the page inside the layout).
public struct Templates: Sendable {
    let templates: [String: Template]

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
        var templates: [String: Template] = [:]
        for file in files where file.hasSuffix(".mustache") {
            let name = String(file.dropLast(".mustache".count))
            let text = try String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8)
            do {
                templates[name] = try Template(text)
            } catch {
                throw LoadError.invalid(name: name, reason: "\(error)")
            }
        }
        guard templates["layout"] != nil else { throw LoadError.missing(folder) }
        self.templates = templates
    }

    /// Renders a page's values: a struct whose properties are the template's names (nested
    /// structs and arrays of them for sections; a nil optional is an absent name). `outer`
    /// holds names every page has (the CSRF token, the strings), found when the values lack them.
    public func render(_ name: String, _ values: some Encodable, outer: TemplateValue? = nil) -> String {
        guard let template = templates[name] else { return "template \(name) missing" }
        return template.render(TemplateEncoder.value(values), outer: outer)
    }
}
