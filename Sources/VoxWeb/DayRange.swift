import Foundation

/// A `from`–`to` pair of `YYYY-MM-DD` days from a query, checked once for every page that
/// filters by date (Call History, its export, Statistics): each side a real day in the
/// viewer's zone, `to` not before `from`, and at most `maxDays` long when there is a limit.
/// Either side may be optional (an empty field); the messages say which field is wrong.
struct DayRange {
    /// The start of the first day, when given.
    var from: Date?
    /// The start of the last day (inclusive), when given.
    var to: Date?
    var errors: [String] = []

    init(fromText: String, toText: String, formatting: Formatting, maxDays: Int? = nil) {
        from = fromText.isEmpty ? nil : formatting.startOfDay(fromText)
        to = toText.isEmpty ? nil : formatting.startOfDay(toText)
        if !fromText.isEmpty && from == nil { errors.append(formatting.catalog("range_from_not_date")) }
        if !toText.isEmpty && to == nil { errors.append(formatting.catalog("range_to_not_date")) }
        if let from, let to {
            if to < from { errors.append(formatting.catalog("range_reversed")) }
            if let maxDays, to.timeIntervalSince(from) > Double(maxDays) * 86_400 { errors.append(formatting.catalog("range_too_long")) }
        }
    }
}
