/// What a template reads: text, a flag, a list to repeat a section over, or named values.
///
/// A closed set instead of `Any`: a lookup is a dictionary read and a `switch`, where a
/// renderer over `Any` pays for dynamic casts to every protocol it supports on every name
/// (see `Template`). Numbers are text (`String(n)`): the renderer only ever writes them out,
/// and as in Mustache a number, like any text, is a value a section shows.
public enum TemplateValue: Sendable, Equatable {
    case text(String)
    case bool(Bool)
    case list([TemplateValue])
    case object([String: TemplateValue])

    /// Whether `{{#name}}` shows its section (once, or once per element of a list) and
    /// `{{^name}}` does not: everything but `false` and the empty list, as the Mustache spec
    /// has it (an empty text and `0` are shown).
    var isShown: Bool {
        switch self {
        case let .bool(flag): flag
        case let .list(items): !items.isEmpty
        case .text, .object: true
        }
    }
}

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
