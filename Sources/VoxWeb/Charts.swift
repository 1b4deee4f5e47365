import Foundation
import Templating

/// Bar charts as inline SVG, drawn on the server: no script, no external library, and they
/// print. Every text that reaches the SVG goes through `escape`.
enum Charts {
    struct Series {
        let name: String
        let cssClass: String
    }

    static let width = 960.0
    static let height = 240.0
    static let left = 56.0
    static let bottom = 28.0
    static let top = 12.0

    /// What a bar is called: briefly under the axis ("2 Dec"), in full in its tooltip.
    struct Label {
        let axis: String
        let full: String
    }

    /// One bar per label, split into stacked segments (one value per series).
    static func stackedBars(title: String, labels: [Label], series: [Series], values: [[Double]],
                            format: (Double) -> String, showsLegend: Bool = true) -> String {
        let totals = values.map { $0.reduce(0, +) }
        let maxValue = niceMax(totals.max() ?? 0)
        var svg = header(title: title)
        svg += axes(maxValue: maxValue, format: format)
        let slot = (width - left) / Double(max(labels.count, 1))
        let barWidth = max(1, slot * 0.75)
        // Appended piece by piece into one reserved string: a 90-day page draws about a
        // thousand elements, and a string interpolated per element was a copy each.
        svg.reserveCapacity(svg.utf8.count + labels.count * (180 + 90 * series.count))
        for (index, label) in labels.enumerated() {
            var y = height - bottom
            let x = left + Double(index) * slot + (slot - barWidth) / 2
            var tooltip = label.full
            for (seriesIndex, item) in series.enumerated() {
                let value = values[index][seriesIndex]
                guard value > 0 else { continue }
                let h = value / maxValue * (height - bottom - top)
                y -= h
                appendRect(&svg, x: x, y: y, width: barWidth, height: h, cssClass: item.cssClass)
                tooltip += "\n" + item.name + ": " + format(value)
            }
            svg += "<rect x=\""; svg += f(x); svg += "\" y=\""; svg += f(top); svg += "\" width=\""; svg += f(barWidth)
            svg += "\" height=\""; svg += f(height - bottom - top); svg += "\" class=\"hit\"><title>"
            svg += escape(tooltip); svg += "</title></rect>"
        }
        svg += xLabels(labels, slot: slot)
        svg += legend(series, shown: showsLegend)
        return svg + "</svg>"
    }

    static func bars(title: String, labels: [Label], values: [Double], cssClass: String, format: (Double) -> String) -> String {
        stackedBars(title: title, labels: labels, series: [Series(name: title, cssClass: cssClass)],
                    values: values.map { [$0] }, format: format, showsLegend: false)
    }

    private static func header(title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 \(f(width)) \(f(height + 24))\" role=\"img\" aria-label=\"\(escape(title))\"><title>\(escape(title))</title>"
    }

    private static func axes(maxValue: Double, format: (Double) -> String) -> String {
        var svg = ""
        for step in 0...4 {
            let value = maxValue * Double(step) / 4
            let y = height - bottom - (height - bottom - top) * Double(step) / 4
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(width))\" y2=\"\(f(y))\" class=\"grid\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" class=\"axis\" text-anchor=\"end\">\(escape(format(value)))</text>"
        }
        return svg
    }

    private static func xLabels(_ labels: [Label], slot: Double) -> String {
        // At most ~12 labels, whatever the range.
        let every = max(1, Int((Double(labels.count) / 12).rounded(.up)))
        var svg = ""
        for (index, label) in labels.enumerated() where index % every == 0 {
            let x = left + Double(index) * slot + slot / 2
            svg += "<text x=\"\(f(x))\" y=\"\(f(height - bottom + 16))\" class=\"axis\" text-anchor=\"middle\">\(escape(label.axis))</text>"
        }
        return svg
    }

    /// A chart of one series keeps its legend, hidden: the series' name is still in the SVG
    /// for screen readers.
    private static func legend(_ series: [Series], shown: Bool) -> String {
        var svg = shown ? "<g class=\"legend\">" : "<g class=\"legend\" display=\"none\">"
        var x = left
        for item in series {
            svg += "<rect x=\"\(f(x))\" y=\"\(f(height + 8))\" width=\"10\" height=\"10\" class=\"\(item.cssClass)\"/>"
            svg += "<text x=\"\(f(x + 14))\" y=\"\(f(height + 17))\" class=\"axis\">\(escape(item.name))</text>"
            x += 24 + Double(item.name.count) * 7
        }
        return svg + "</g>"
    }

    private static func appendRect(_ svg: inout String, x: Double, y: Double, width: Double, height: Double, cssClass: String) {
        svg += "<rect x=\""; svg += f(x); svg += "\" y=\""; svg += f(y); svg += "\" width=\""; svg += f(width)
        svg += "\" height=\""; svg += f(height); svg += "\" class=\""; svg += cssClass; svg += "\"/>"
    }

    /// An axis maximum of four round steps (1, 2, 2.5 or 5 times a power of ten each), so that
    /// every grid line has a round label.
    static func niceMax(_ value: Double) -> Double {
        guard value > 0 else { return 4 }
        let step = value / 4
        let magnitude = pow(10, floor(log10(step)))
        for factor in [1.0, 2.0, 2.5, 5.0, 10.0] where factor * magnitude >= step { return 4 * factor * magnitude }
        return 40 * magnitude
    }

    private static func f(_ value: Double) -> String { Formatting.oneDecimal(value) }

    /// As the templates escape (one rule for HTML and the SVG inside it).
    static func escape(_ text: String) -> String { Template.escapeHTML(text) }
}
