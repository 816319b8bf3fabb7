import Foundation
import Testing
import WardenTestSupport
import WardenTune

/// What `warden tune` makes of its results, and the grids its flags take.
@Suite("Tune report and grid")
struct TuneReportTests {
    static func cell(
        _ size: Int, _ layout: TuneLayout = .padded, precision: String = "fp32", rate: Double, p99: Double,
        errors: Int = 0
    ) -> TuneResult {
        TuneResult(
            maxBatchSize: size, delayMs: 2, layout: layout, combo: ThreadCombo(workers: 1, torch: 1, blas: 2), precision: precision,
            messages: 100, messagesPerSecond: rate, p50Ms: p99 / 2, p99Ms: p99, paddingEfficiency: 0.8, meanBatch: 4, errors: errors,
            load1: 0.5)
    }

    @Test("the recommendation is the fastest cell within the p99 target and without errors")
    func recommendation() {
        let results = [
            Self.cell(1, rate: 100, p99: 10), Self.cell(8, rate: 400, p99: 40), Self.cell(32, rate: 900, p99: 80),
            Self.cell(16, rate: 950, p99: 20, errors: 1),
        ]
        let report = TuneReport(results: results, p99TargetMs: 50)
        #expect(report.recommended?.maxBatchSize == 8)
        #expect(report.lines.contains("  warden serve \(results[1].serveFlags)"))
        #expect(report.lines.contains { $0.hasPrefix("batching gain: best 950 msg/s (padded, batch 16) / best unbatched 100 msg/s = 9.50x") })
        let none = TuneReport(results: results, p99TargetMs: 5)
        #expect(none.recommended == nil)
        #expect(none.lines.first == "\nno cell met p99 <= 5.0 ms; lowest p99: \(results[0].serveFlags) (10.0 ms)")
    }

    @Test("layouts and precisions are compared when the grid has several")
    func comparisons() {
        let report = TuneReport(
            results: [
                Self.cell(8, rate: 400, p99: 10), Self.cell(8, .packed(rowTokens: 128), rate: 600, p99: 10),
                Self.cell(8, precision: "bf16", rate: 500, p99: 10),
            ], p99TargetMs: 50)
        #expect(report.lines.contains("packed128 vs padded: best 600 / 500 msg/s = 1.20x"))
        #expect(report.lines.contains("precision: fp32 best 600 msg/s, bf16 best 500 msg/s"))
        #expect(report.table == ["", TuneResult.tableHeader] + report.results.map(\.tableLine))
        #expect(report.csv.hasPrefix(TuneResult.csvHeader + "\n"))
        #expect(report.csv.split(separator: "\n").count == 4)
    }

    @Test("a child's cell line reads back as the cell")
    func childLine() throws {
        let cell = Self.cell(8, .packed(rowTokens: 64), precision: "bf16", rate: 412.5, p99: 12.25)
        let line = TuneChild.line(cell)
        #expect(line.hasPrefix(TuneChild.cellPrefix))
        let back = try #require(TuneResult(csvLine: String(line.dropFirst(TuneChild.cellPrefix.count))))
        #expect(back.csvLine == cell.csvLine)
    }

    @Test("the grid's lists parse, and a malformed one is refused naming its flag")
    func gridLists() throws {
        let grid = TuneGrid()
        #expect(try TuneGrid.integers(grid.batchSizes, flag: "--batch-sizes") == [1, 4, 8, 16, 32])
        #expect(try TuneGrid.numbers(grid.delays, flag: "--delays") == [0, 2, 5])
        #expect(try TuneGrid.combos(grid.threads).map(\.description) == ["1x1x2", "1x2x1", "2x1x1"])
        #expect(try TuneGrid.layouts("padded, packed64") == [.padded, .packed(rowTokens: 64)])
        let error = #expect(throws: TuneError.self) { try TuneGrid.integers("1,0", flag: "--batch-sizes") }
        #expect(error?.description.contains("--batch-sizes") == true)
        #expect(throws: TuneError.self) { try TuneGrid.numbers("1,-2", flag: "--delays") }
        #expect(throws: TuneError.self) { try TuneGrid.combos("1x2") }
        #expect(throws: TuneError.self) { try TuneGrid.layouts("packed") }
    }

    @Test("a corpus is its non-empty lines; a missing or empty one is refused")
    func corpus() throws {
        let folder = try TempFolder()
        #expect(try TuneGrid.corpus(path: folder.write("chat.txt", "hello\n\nthere\n")) == ["hello", "there"])
        #expect(throws: TuneError.self) { try TuneGrid.corpus(path: folder.write("empty.txt", "\n\n")) }
        #expect(throws: TuneError.self) { try TuneGrid.corpus(path: folder.path("missing.txt")) }
    }
}
