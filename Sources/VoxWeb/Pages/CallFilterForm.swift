import FastCGI
import Foundation
import VoxCore
import VoxServices

/// The Call History filter as it lives in the URL, so a filtered view can be bookmarked:
/// `?q=refund&from=2026-11-01&to=2026-11-07&status=failed&status=busy&number=4567&app=3&size=50`.
struct CallFilterForm {
    /// Words to find in transcripts, as typed; `query` once parsed.
    var searchText = ""
    var query: SearchQuery?
    var fromText = ""
    var toText = ""
    var statuses: Set<CallStatus> = []
    var number = ""
    var applicationID: UInt64?
    var size = 50
    var errors: [String] = []

    static let sizes = [25, 50, 100, 200]
    static let minimumDigits = 3

    init(query: Parameters, formatting: Formatting) {
        searchText = query.text("q")?.trimmingCharacters(in: .whitespaces) ?? ""
        if !searchText.isEmpty {
            do {
                self.query = try SearchQuery(searchText)
            } catch let problem as SearchQuery.Problem {
                errors.append(formatting.catalog(Self.messageKey(problem), ["max": String(SearchQuery.maxLength),
                                                                           "clauses": String(SearchQuery.maxClauses),
                                                                           "words": String(SearchQuery.maxWords)]))
            } catch {
                errors.append(formatting.catalog("search_nothing"))
            }
        }
        fromText = query.text("from") ?? ""
        toText = query.text("to") ?? ""
        for name in query.all("status") where !name.isEmpty {
            if let status = CallStatus(name: name) { statuses.insert(status) } else { errors.append(formatting.catalog("filter_unknown_status", ["status": name])) }
        }
        number = query.text("number") ?? ""
        if let app = query.text("app") {
            if let id = UInt64(app) { applicationID = id } else { errors.append(formatting.catalog("filter_unknown_app")) }
        }
        if let text = query.text("size") {
            if let value = Int(text), CallFilterForm.sizes.contains(value) { size = value } else {
                errors.append(formatting.catalog("filter_bad_size", ["sizes": CallFilterForm.sizes.map(String.init).joined(separator: ", ")]))
            }
        }
        let days = DayRange(fromText: fromText, toText: toText, formatting: formatting)
        // One or two digits match nearly every call and make the search walk the whole index.
        let digits = PhoneNumber.digits(number)
        if !number.isEmpty && digits.count < CallFilterForm.minimumDigits {
            errors.append(formatting.catalog("filter_few_digits", ["n": String(CallFilterForm.minimumDigits)]))
        } else if number.count > 64 || digits.count > 20 {
            errors.append(formatting.catalog("filter_long_number"))
        }
        // After the other checks, as before: the date messages come last.
        errors += days.errors
        self.filter = CallFilter()
        if errors.isEmpty {
            // Dates are whole days in the viewer's zone; "to" includes its day.
            filter.from = days.from
            filter.to = days.to.map { formatting.addingDays(1, to: $0) }
            filter.statuses = statuses
            filter.number = number.isEmpty ? nil : number
            filter.applicationID = applicationID
        }
    }

    var filter: CallFilter

    static func messageKey(_ problem: SearchQuery.Problem) -> String {
        switch problem {
        case .tooLong: "search_too_long"
        case .tooManyClauses: "search_too_many"
        case .nothingToSearch: "search_nothing"
        case .shortPrefix: "search_short_prefix"
        }
    }

    /// The filter as query parameters, for paging and export links.
    var parameters: Parameters {
        var items: [(name: String, value: String)] = []
        if !searchText.isEmpty { items.append(("q", searchText)) }
        if !fromText.isEmpty { items.append(("from", fromText)) }
        if !toText.isEmpty { items.append(("to", toText)) }
        for status in statuses.sorted() { items.append(("status", status.name)) }
        if !number.isEmpty { items.append(("number", number)) }
        if let applicationID { items.append(("app", String(applicationID))) }
        if size != 50 { items.append(("size", String(size))) }
        return Parameters(items)
    }
}
