/// The catalogs, one per language (`Strings.en.swift`, `Strings.ru.swift`). Strings live
/// there, never in templates: a template says `{{t.key}}`, a page `context.catalog("key")`.
enum Strings {}
