import FastCGI
import Foundation
import VoxCore
import VoxServices

/// Call History: filter bar, table, keyset paging, CSV export.
enum CallsPage {
    /// One call as the table (and the call page) shows it.
    struct Row: Encodable {
        let id: UInt64
        let started: String
        let direction: String
        let directionLabel: String
        let from: String
        let to: String
        let duration: String
        let status: String
        let statusLabel: String
        let cost: String
        let application: String
        let hasTranscript: Bool
        let hasRecording: Bool
        /// With a search: the transcript lines that matched.
        var matches: [SearchLine] = []

        init(_ call: Call, formatting: Formatting, applicationName: String?) {
            id = call.id
            started = formatting.dateTime(call.startedAt)
            direction = call.direction == .inbound ? "in" : "out"
            directionLabel = formatting.catalog(call.direction == .inbound ? "direction_in" : "direction_out")
            from = PhoneNumber.display(call.fromNumber)
            to = PhoneNumber.display(call.toNumber)
            duration = Formatting.duration(call.durationSeconds)
            status = call.status.name
            statusLabel = formatting.catalog("status_" + call.status.name)
            cost = formatting.money(call.cost)
            application = applicationName ?? "—"
            hasTranscript = call.hasTranscript
            hasRecording = call.recording != nil
        }
    }

    /// A matched transcript line, as pieces the template escapes (matched ones in `<mark>`).
    struct SearchLine: Encodable {
        struct Piece: Encodable {
            let text: String
            let matched: Bool
        }
        let href: String
        let who: String
        let at: String
        let pieces: [Piece]
    }

    struct Field: Encodable {
        let name: String
        let value: String
    }

    struct Values: Encodable {
        let q: String
        let from: String
        let to: String
        let number: String
        let statuses: [Pages.Option]
        let applications: [Pages.Option]
        let sizes: [Pages.Option]
        let syncing: Bool
        /// "Sync now" is a change: shown to whom the route permits (not viewers).
        let canSync: Bool
        /// Calls of the last hour reached us on one side only (see the Health page).
        let mismatches: Bool
        var errors: [String] = []
        var rows: [Row] = []
        var empty = false
        var total: String? = nil
        var older: String? = nil
        var newer: String? = nil
        var export: String? = nil
        /// A search: its result list replaces the count.
        var searching = false
        /// The filter again, for "download all matching" (a POST form).
        var filterFields: [Field] = []
        var searchNotes: [String] = []
        var firstPage: String? = nil
    }

    static func show(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let formatting = Formatting(user: user, catalog: context.catalog)
        let form = CallFilterForm(query: request.query, formatting: formatting)
        let applications = try site.statistics.applications(viewer: user)
        let names = Dictionary(applications.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })

        var values = Values(
            q: form.searchText, from: form.fromText, to: form.toText, number: form.number,
            statuses: CallStatus.allCases.map { Pages.Option(value: $0.name, label: context.catalog("status_" + $0.name), selected: form.statuses.contains($0)) },
            applications: applications.map { Pages.Option(value: String($0.id), label: $0.name, selected: $0.id == form.applicationID) },
            sizes: CallFilterForm.sizes.map { Pages.Option(value: String($0), label: String($0), selected: $0 == form.size) },
            syncing: request.query["syncing"] != nil,
            canSync: Routes.access("POST", "/calls/sync")?.permits(user) == true,
            mismatches: try recentMismatches(user, site))
        guard form.errors.isEmpty else {
            values.errors = form.errors
            return Pages.render("calls", title: context.catalog("calls_title"), values, context: context, site: site,
                                status: .badRequest, activePath: "/calls")
        }
        let cursor: CallCursor?
        let direction: PageDirection = request.query["before"] != nil ? .newer : .older
        if let text = request.query["before"] ?? request.query["after"] {
            guard let parsed = CallCursor(text) else {
                values.errors = [context.catalog("calls_bad_cursor")]
                return Pages.render("calls", title: context.catalog("calls_title"), values, context: context, site: site,
                                    status: .badRequest, activePath: "/calls")
            }
            cursor = parsed
        } else {
            cursor = nil
        }
        values.filterFields = form.parameters.items.filter { $0.name != "size" }.map { Field(name: $0.name, value: $0.value) }
        if let query = form.query {
            return try showSearch(query, form: form, cursor: cursor, values: values, names: names,
                                  formatting: formatting, context: context, site: site, user: user)
        }
        let page = try site.calls.page(viewer: user, filter: form.filter, cursor: cursor, direction: direction, limit: form.size)
        let total = try site.calls.count(viewer: user, filter: form.filter)

        let base = form.parameters
        func link(_ name: String, _ cursor: CallCursor) -> String {
            "/calls?" + Parameters(base.items + [(name, cursor.description)]).urlEncoded
        }
        values.rows = page.calls.map { Row($0, formatting: formatting, applicationName: names[$0.applicationID]) }
        values.empty = page.calls.isEmpty
        values.total = formatting.count(form.parameters.items.contains { $0.name != "size" } ? "calls_matching" : "calls_total", Int64(total))
        values.older = page.olderCursor.map { link("after", $0) }
        values.newer = page.newerCursor.map { link("before", $0) }
        values.export = "/calls/export.csv" + (base.items.isEmpty ? "" : "?" + base.urlEncoded)
        return Pages.render("calls", title: context.catalog("calls_title"), values, context: context, site: site, activePath: "/calls")
    }

    /// Call History with words to find: matching calls newest first, each with its matched
    /// lines, paged forward only (a search has no count to page back through).
    static func showSearch(_ query: SearchQuery, form: CallFilterForm, cursor: CallCursor?, values: Values,
                           names: [UInt64: String], formatting: Formatting, context: RequestContext, site: Site,
                           user: User) throws -> Response {
        var values = values
        let results = try site.search.search(query, viewer: user, filter: form.filter, after: cursor, limit: form.size)
        let catalog = context.catalog
        values.searching = true
        values.rows = try results.calls.map { call in
            var row = Row(call, formatting: formatting, applicationName: names[call.applicationID])
            if let transcript = try site.calls.transcript(of: call) {
                row.matches = query.matchedLines(in: transcript).map { line in
                    SearchLine(
                        href: "/calls/\(call.id)" + (line.secondsIntoCall.map { "#t=\($0)" } ?? "#transcript"),
                        who: line.role.map { catalog($0 == "agent" ? "who_agent" : "who_caller") } ?? catalog("search_summary"),
                        at: line.secondsIntoCall.map(Formatting.duration) ?? "",
                        pieces: line.pieces.map { SearchLine.Piece(text: $0.text, matched: $0.matched) })
                }
            }
            return row
        }
        values.empty = results.calls.isEmpty
        values.total = catalog("search_results")
        if results.stoppedEarly {
            values.searchNotes.append(catalog("search_stopped", ["n": Formatting.count(Int64(TranscriptSearch.maxExamined))]))
        }
        if results.prefixCut {
            values.searchNotes.append(catalog("search_prefix_cut", ["n": String(TranscriptSearch.maxExpansions)]))
        }
        let base = form.parameters
        values.older = results.olderCursor.map { "/calls?" + Parameters(base.items + [("after", $0.description)]).urlEncoded }
        values.firstPage = cursor == nil ? nil : "/calls?" + base.urlEncoded
        values.export = "/calls/export.csv?" + base.urlEncoded
        return Pages.render("calls", title: catalog("calls_title"), values, context: context, site: site, activePath: "/calls")
    }

    /// The columns of the calls CSV, in order. The header row names them in the viewer's
    /// language (English keeps these names, which scripts may read); the values stay as
    /// machines read them (ISO 8601 times, E.164 numbers, status names) in every language.
    static let exportColumns = ["call_id", "started_at", "direction", "from", "to", "duration_seconds", "status", "cost",
                                "currency", "application", "voximplant_session_id", "conversation_id", "has_transcript"]

    /// A Russian file starts with a byte-order mark: without one, Excel reads UTF-8 as
    /// Windows-1251 and the Cyrillic header becomes mojibake. (English keeps a plain first line
    /// for the scripts that read `call_id`.)
    static func csvHeader(_ columns: [String], _ t: Catalog) -> String {
        (t.language == .ru ? "\u{FEFF}" : "") + columns.map { csvField(t("csv_" + $0)) }.joined(separator: ",") + "\r\n"
    }

    /// Whether the last reconciliation of any account the viewer sees found a call of the
    /// last hour on one side only.
    static func recentMismatches(_ user: User, _ site: Site) throws -> Bool {
        let since = site.clock.now().addingTimeInterval(-3600)
        return try site.sync.states(of: try site.setup.accounts(viewer: user)).contains { _, state in
            (state.reconciliation?.newestMismatch ?? .distantPast) > since
        }
    }

    /// All matching calls as CSV, streamed: the rows are read in chunks while being sent, so
    /// memory stays flat however many there are.
    static func export(_ request: Request, _ context: RequestContext, _ site: Site) throws -> Response {
        let user = try context.requireUser()
        let formatting = Formatting(user: user, catalog: context.catalog)
        let form = CallFilterForm(query: request.query, formatting: formatting)
        guard form.errors.isEmpty else { throw HTTPError(.badRequest, form.errors.joined(separator: " ")) }
        let filter = form.filter
        let calls = site.calls
        let names = Dictionary(try site.statistics.applications(viewer: user).map { ($0.id, $0.name) },
                               uniquingKeysWith: { a, _ in a })
        let filename = "calls-\(formatting.day(site.clock.now())).csv"
        guard let slot = site.exports.take(user.id) else {
            var error = HTTPError(.tooManyRequests, context.catalog("export_running"))
            error.headers = [("Retry-After", "5")]
            throw error
        }
        return Response(status: .ok, headers: [
            ("Content-Type", "text/csv; charset=utf-8"),
            ("Content-Disposition", "attachment; filename=\"\(filename)\""),
        ], body: .stream { writer in
            defer { slot.release() }
            var rows = 0
            // Recorded once the export is complete, with what it held.
            defer {
                try? site.audit.record(.callsExported, by: AuditActor(user, address: request.remoteAddress),
                                       "\(rows) calls; filter: \(request.query.urlEncoded.isEmpty ? "none" : String(request.query.urlEncoded.prefix(500)))")
            }
            try writer.write(CallsPage.csvHeader(CallsPage.exportColumns, context.catalog))
            var buffer = [UInt8]()
            buffer.reserveCapacity(40 * 1024)
            try forEachCall(form.query, viewer: user, filter: filter, calls: calls, search: site.search) { call in
                appendCSVRow(call, names: names, to: &buffer)
                rows += 1
                if buffer.count > 32 * 1024 {
                    try writer.write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            try writer.write(buffer)
        })
    }

    /// One call as a CSV line, in `exportColumns` order.
    static func csvRow(_ call: Call, names: [UInt64: String]) -> String {
        var out = [UInt8]()
        appendCSVRow(call, names: names, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The same line appended to `out` as bytes: the export writes a million of these, and
    /// building a String per field and joining them was two thirds of its time.
    static func appendCSVRow(_ call: Call, names: [UInt64: String], to out: inout [UInt8]) {
        let comma: UInt8 = 0x2C
        out.append(contentsOf: String(call.id).utf8)
        out.append(comma)
        Formatting.appendISOUTC(micros: call.startMicros, to: &out)
        out.append(comma)
        out.append(contentsOf: call.direction.rawValue.utf8)  // inbound / outbound: nothing to guard
        out.append(comma)
        appendCSVField(call.fromNumber, to: &out)
        out.append(comma)
        appendCSVField(call.toNumber, to: &out)
        out.append(comma)
        out.append(contentsOf: String(call.durationSeconds).utf8)
        out.append(comma)
        out.append(contentsOf: call.status.name.utf8)  // a fixed name
        out.append(comma)
        if let cost = call.cost {
            // A negative amount starts with "-": through the guard, as any field.
            if cost.micros < 0 { appendCSVField(Formatting.decimal(micros: cost.micros), to: &out) } else {
                Formatting.appendDecimal(micros: cost.micros, to: &out)
            }
            out.append(comma)
            appendCSVField(cost.currency, to: &out)
        } else {
            out.append(comma)
        }
        out.append(comma)
        appendCSVField(names[call.applicationID] ?? "", to: &out)
        out.append(comma)
        out.append(contentsOf: String(call.voximplantSessionID).utf8)
        out.append(comma)
        appendCSVField(call.conversationID ?? "", to: &out)
        out.append(comma)
        out.append(contentsOf: (call.hasTranscript ? "yes" : "no").utf8)
        out.append(contentsOf: [0x0D, 0x0A])
    }

    /// `csvField(value)`, appended; a value with nothing to guard or quote (most) goes as it is.
    static func appendCSVField(_ value: String, to out: inout [UInt8]) {
        let utf8 = value.utf8
        guard let first = utf8.first else { return }
        switch first {
        case 0x3D, 0x2B, 0x2D, 0x40, 0x09, 0x0D: break  // = + - @ TAB CR: may need an apostrophe
        default:
            if !utf8.contains(where: { $0 == 0x2C || $0 == 0x3B || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
                out.append(contentsOf: utf8)
                return
            }
        }
        out.append(contentsOf: csvField(value).utf8)
    }

    /// Every call of the export: those matching the search if there is one, else the filter's;
    /// the newest `limit` of them when there is a limit (the walk stops there).
    static func forEachCall(_ query: SearchQuery?, viewer: User, filter: CallFilter, calls: CallQueries,
                            search: TranscriptSearch, limit: Int? = nil, _ body: (Call) throws -> Void) throws {
        var left = limit ?? .max
        var cursor: CallCursor?
        repeat {
            let chunk = min(left, 200)
            let page: (calls: [Call], older: CallCursor?)
            if let query {
                let found = try search.search(query, viewer: viewer, filter: filter, after: cursor, limit: chunk)
                page = (found.calls, found.olderCursor)
            } else {
                let found = try calls.page(viewer: viewer, filter: filter, cursor: cursor, direction: .older, limit: chunk)
                page = (found.calls, found.olderCursor)
            }
            for call in page.calls.prefix(left) { try body(call) }
            left -= min(left, page.calls.count)
            cursor = page.older
        } while cursor != nil && left > 0
    }

    /// RFC 4180 quoting, and a leading apostrophe for values a spreadsheet would run as a
    /// formula (OWASP "CSV injection"): a field starting with `=`, `+`, `-`, `@`, TAB or CR.
    /// A bare E.164 number (`+` and 1 to 15 digits) is left as it is: it is a plain number to
    /// a spreadsheet, and the export should carry it raw. A field holding `,`, `;` (the
    /// separator of spreadsheets in locales with a decimal comma, ru-RU among them), `"`, CR or
    /// LF is quoted.
    ///
    /// A spreadsheet that splits on the other separator (`;` in ru-RU, reading our `,` file)
    /// starts a cell right after each `;` inside a value, where quotes do not help: a formula
    /// character there gets its apostrophe too.
    static func csvField(_ value: String) -> String {
        // Most fields (ids, times, digits, names) have nothing to guard or quote: one pass over
        // the bytes says so, and the value goes out as it is.
        let utf8 = value.utf8
        if let first = utf8.first, !formulaStartBytes.contains(first),
           !utf8.contains(where: { $0 == 0x2C || $0 == 0x3B || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
            return value
        }
        var text = value
        if let first = text.unicodeScalars.first, formulaStarts.contains(first), !isE164(text) {
            text = "'" + text
        }
        if text.unicodeScalars.contains(where: { $0 == ";" || $0 == "," }) {
            var guarded = String.UnicodeScalarView()
            var afterSeparator = false
            for scalar in text.unicodeScalars {
                if afterSeparator && formulaStarts.contains(scalar) { guarded.append("'") }
                guarded.append(scalar)
                afterSeparator = scalar == ";" || scalar == ","
            }
            text = String(guarded)
        }
        if text.contains(where: { $0 == "," || $0 == ";" || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }

    private static let formulaStarts = "=+-@\t\r".unicodeScalars
    private static let formulaStartBytes: [UInt8] = Array("=+-@\t\r".utf8)

    private static func isE164(_ text: String) -> Bool {
        let digits = text.utf8.dropFirst()
        return text.hasPrefix("+") && (1...15).contains(digits.count) && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
