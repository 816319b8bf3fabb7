import Foundation
import WardenCore

/// One record as a `warden score` JSON Lines output holds it: its number, text and id when written, and each
/// label's score and flag. Error records have no scores.
public struct ScoredRecord: Sendable, Equatable {
    public var record: Int
    public var id: String?
    public var text: String?
    public var scores: [String: Double]
    public var flags: [String: Bool]
    public var flagged: Bool

    public init(record: Int, id: String? = nil, text: String? = nil, scores: [String: Double], flags: [String: Bool], flagged: Bool) {
        self.record = record
        self.id = id
        self.text = text
        self.scores = scores
        self.flags = flags
        self.flagged = flagged
    }

    /// The scored records of a `warden score` JSON Lines output, by record number, and how many records had no
    /// scores (errors).
    public static func read(jsonLines data: Data) throws -> (records: [Int: ScoredRecord], unscored: Int) {
        var records: [Int: ScoredRecord] = [:]
        var unscored = 0
        for (index, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.isEmpty {
            guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], let number = object["record"] as? Int
            else {
                throw ComparisonError("line \(index + 1) of a scoring output is not a record")
            }
            guard let scores = object["scores"] as? [String: Double], let flags = object["flags"] as? [String: Bool] else {
                unscored += 1
                continue
            }
            let id = (object["id"] as? String) ?? (object["id"] as? NSNumber).map { "\($0)" }
            records[number] = ScoredRecord(
                record: number, id: id, text: object["text"] as? String, scores: scores, flags: flags,
                flagged: object["flagged"] as? Bool ?? false)
        }
        return (records, unscored)
    }
}

/// A comparison that cannot be made (a malformed scoring output, models with no category in common).
public struct ComparisonError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Two models' decisions on the same records, category by category: how often each flags, how often they
/// agree, and the records where they disagree most. This is how a model upgrade is reviewed before it goes live.
public struct ModelComparison: Codable, Sendable, Equatable {
    /// A model as the report names it.
    public struct Model: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
        public var directory: String
        public var labels: [String]

        public init(name: String, version: String, directory: String, labels: [String]) {
            self.name = name
            self.version = version
            self.directory = directory
            self.labels = labels
        }
    }

    /// One category both models score (a label of A and the label of B it corresponds to).
    public struct Category: Codable, Sendable, Equatable {
        /// The name shown: A's label, with B's after an arrow when B names it otherwise.
        public var name: String
        public var labelA: String
        public var labelB: String
        public var flagRateA: Double
        public var flagRateB: Double
        /// Share of records where both flag or neither does.
        public var agreement: Double
        /// Records only A flags, and only B flags.
        public var onlyA: Int
        public var onlyB: Int
        public var meanAbsoluteDifference: Double
        public var maxAbsoluteDifference: Double
    }

    /// A record whose decision differs in one category, with both scores.
    public struct Disagreement: Codable, Sendable, Equatable {
        public var record: Int
        public var id: String?
        public var text: String?
        public var category: String
        public var scoreA: Double
        public var scoreB: Double
        public var flaggedA: Bool
        public var flaggedB: Bool
        public var difference: Double { scoreB - scoreA }
    }

    public var modelA: Model
    public var modelB: Model
    /// Records both models scored.
    public var records: Int
    /// Records at least one model could not score (left out of every figure).
    public var unscored: Int
    /// The overall decision (`flagged`: any category).
    public var flaggedRateA: Double
    public var flaggedRateB: Double
    public var flaggedAgreement: Double
    public var categories: [Category]
    /// The largest disagreements (decision differs), largest score difference first, at most `top`.
    public var disagreements: [Disagreement]
    /// All disagreements (decision differs in some category), before the cut to `top`.
    public var disagreementCount: Int

    /// Compares the records both outputs scored, over `categories` (pairs of A's and B's labels).
    public init(
        modelA: Model, modelB: Model, a: (records: [Int: ScoredRecord], unscored: Int), b: (records: [Int: ScoredRecord], unscored: Int),
        categories pairs: [(a: String, b: String)], top: Int
    ) throws {
        guard !pairs.isEmpty else {
            throw ComparisonError(
                "the models share no category (A: \(modelA.labels.joined(separator: ", ")); B: \(modelB.labels.joined(separator: ", ")))")
        }
        self.modelA = modelA
        self.modelB = modelB
        let numbers = Set(a.records.keys).intersection(b.records.keys).sorted()
        records = numbers.count
        unscored = Set(a.records.keys).symmetricDifference(b.records.keys).count + max(a.unscored, b.unscored)
        let n = Double(max(records, 1))
        var all: [Disagreement] = []
        var flaggedA = 0, flaggedB = 0, flaggedBoth = 0
        for number in numbers {
            let (ra, rb) = (a.records[number]!, b.records[number]!)
            if ra.flagged { flaggedA += 1 }
            if rb.flagged { flaggedB += 1 }
            if ra.flagged == rb.flagged { flaggedBoth += 1 }
        }
        flaggedRateA = Double(flaggedA) / n
        flaggedRateB = Double(flaggedB) / n
        flaggedAgreement = Double(flaggedBoth) / n
        categories = pairs.map { pair in
            var flagA = 0, flagB = 0, agree = 0, onlyA = 0, onlyB = 0
            var sum = 0.0, largest = 0.0
            for number in numbers {
                let (ra, rb) = (a.records[number]!, b.records[number]!)
                let (fa, fb) = (ra.flags[pair.a] ?? false, rb.flags[pair.b] ?? false)
                let (sa, sb) = (ra.scores[pair.a] ?? 0, rb.scores[pair.b] ?? 0)
                if fa { flagA += 1 }
                if fb { flagB += 1 }
                if fa == fb { agree += 1 } else if fa { onlyA += 1 } else { onlyB += 1 }
                sum += abs(sb - sa)
                largest = max(largest, abs(sb - sa))
                if fa != fb {
                    all.append(
                        Disagreement(
                            record: number, id: ra.id, text: ra.text ?? rb.text, category: pair.a == pair.b ? pair.a : "\(pair.a) → \(pair.b)",
                            scoreA: sa, scoreB: sb, flaggedA: fa, flaggedB: fb))
                }
            }
            return Category(
                name: pair.a == pair.b ? pair.a : "\(pair.a) → \(pair.b)", labelA: pair.a, labelB: pair.b, flagRateA: Double(flagA) / n,
                flagRateB: Double(flagB) / n, agreement: Double(agree) / n, onlyA: onlyA, onlyB: onlyB, meanAbsoluteDifference: sum / n,
                maxAbsoluteDifference: largest)
        }
        disagreementCount = all.count
        all.sort { abs($0.difference) != abs($1.difference) ? abs($0.difference) > abs($1.difference) : $0.record < $1.record }
        disagreements = Array(all.prefix(max(top, 0)))
    }

    /// The report for a terminal: the models, a table of the categories, and the largest disagreements.
    public var table: String {
        func percent(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
        var lines = [
            "A: \(modelA.name) \(modelA.version) (\(modelA.directory))",
            "B: \(modelB.name) \(modelB.version) (\(modelB.directory))",
            "records compared: \(records)" + (unscored > 0 ? " (\(unscored) left out: not scored by both)" : ""),
            "",
        ]
        let header = ["category", "flagged A", "flagged B", "agreement", "only A", "only B", "mean |Δ|", "max |Δ|"]
        var rows = [header]
        rows.append(["(any: flagged)", percent(flaggedRateA), percent(flaggedRateB), percent(flaggedAgreement), "", "", "", ""])
        for c in categories {
            rows.append([
                c.name, percent(c.flagRateA), percent(c.flagRateB), percent(c.agreement), "\(c.onlyA)", "\(c.onlyB)",
                String(format: "%.3f", c.meanAbsoluteDifference), String(format: "%.3f", c.maxAbsoluteDifference),
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(
                row.enumerated().map { column, cell in
                    column == 0
                        ? cell.padding(toLength: widths[0], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[column] - cell.count) + cell
                }.joined(separator: "  ").replacing(/\ +$/, with: ""))
        }
        lines.append("")
        lines.append("decisions that differ: \(disagreementCount)" + (disagreements.count < disagreementCount ? "; the \(disagreements.count) largest:" : ":"))
        for d in disagreements {
            let text = (d.text ?? d.id.map { "id \($0)" } ?? "").replacingOccurrences(of: "\n", with: " ")
            let shown = text.count > 70 ? String(text.prefix(69)) + "…" : text
            lines.append(
                String(
                    format: "  #%d %@ A %.3f%@ B %.3f%@  %@", d.record, d.category, d.scoreA, d.flaggedA ? "*" : " ", d.scoreB, d.flaggedB ? "*" : " ", shown))
        }
        if !disagreements.isEmpty { lines.append("  (* = flagged)") }
        return lines.joined(separator: "\n")
    }

    /// Every compared record's two scores per category, as CSV (`category,record,score_a,score_b,threshold_a,
    /// threshold_b`), for the chart of `--png`.
    public static func scoresCSV(
        a: [Int: ScoredRecord], b: [Int: ScoredRecord], categories pairs: [(a: String, b: String)], thresholdsA: [String: Float],
        thresholdsB: [String: Float]
    ) -> String {
        var lines = ["category,record,score_a,score_b,threshold_a,threshold_b"]
        let numbers = Set(a.keys).intersection(b.keys).sorted()
        for pair in pairs {
            let name = pair.a == pair.b ? pair.a : "\(pair.a) → \(pair.b)"
            for number in numbers {
                lines.append(
                    "\(name),\(number),\(a[number]!.scores[pair.a] ?? 0),\(b[number]!.scores[pair.b] ?? 0),\(thresholdsA[pair.a] ?? 0.5),\(thresholdsB[pair.b] ?? 0.5)"
                )
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The report as JSON (the same fields, sorted keys).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
