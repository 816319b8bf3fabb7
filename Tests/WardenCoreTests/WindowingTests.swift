import Testing

@testable import WardenCore

@Suite struct WindowingTests {
    let cls: Int32 = 2, sep: Int32 = 3

    func split(_ n: Int, maxLength: Int = 10, policy: LongTextPolicy = .windows(overlap: 2), maxWindows: Int = 16) -> Windowing.Split {
        Windowing.split(
            (0..<n).map { Int32(100 + $0) }, maxSequenceLength: maxLength, policy: policy,
            maxWindows: maxWindows, cls: cls, sep: sep)
    }

    @Test func shortTextIsOneWindow() {
        #expect(split(8) == Windowing.Split(sequences: [[2] + (100..<108).map { Int32($0) } + [3]], truncated: false))
        #expect(split(0).sequences == [[2, 3]])  // empty text: [CLS] [SEP]
    }

    @Test func longTextIsCoveredByOverlappingWindows() {
        // Width 8, overlap 2 → stride 6; 20 pieces need ceil(12 / 6) + 1 = 3 windows starting at 0, 6, 12.
        let s = split(20)
        #expect(!s.truncated)
        #expect(s.sequences.count == 3)
        #expect(s.sequences.map { $0[1] } == [100, 106, 112])
        #expect(s.sequences.allSatisfy { $0.count == 10 && $0.first == cls && $0.last == sep })
        // Every piece is covered, the last one included.
        let covered = Set(s.sequences.flatMap { $0.dropFirst().dropLast() })
        #expect(covered == Set((100..<120).map { Int32($0) }))
        // Starts are spread evenly: a text needing an uneven last step still overlaps by >= 2.
        let t = split(17)  // span 9 → ceil(9/6)+1 = 3 windows at 0, 4, 9
        #expect(t.sequences.map { $0[1] } == [100, 104, 109])
    }

    /// Past the window cap the text is covered from its start without gaps, and reported truncated: windows
    /// spread with gaps between them let abuse placed in a gap go unseen.
    @Test func tooManyWindowsCoverTheStartWithoutGapsAndReportTruncated() {
        let s = split(50, maxWindows: 2)  // windows of 8 pieces, stride 6
        #expect(s.truncated)
        #expect(s.sequences.map { $0[1] } == [100, 106])
        let covered = Set(s.sequences.flatMap { $0.dropFirst().dropLast() })
        #expect(covered == Set((100..<114).map { Int32($0) }), "contiguous from the start, no gap")
    }

    /// Every piece of a text is scored when the windows it needs fit the cap, whatever its length.
    @Test func everyPieceIsCoveredUpToTheCap() {
        for n in [9, 17, 50, 97, 98, 99, 100] {
            let s = split(n, maxWindows: 16)
            let needed = n <= 8 ? 1 : (n - 8 + 5) / 6 + 1
            #expect(s.truncated == (needed > 16), "n \(n)")
            if !s.truncated {
                let covered = Set(s.sequences.flatMap { $0.dropFirst().dropLast() })
                #expect(covered == Set((100..<(100 + n)).map { Int32($0) }), "n \(n)")
            }
        }
    }

    @Test func truncatePolicyKeepsTheStart() {
        let s = split(20, policy: .truncate)
        #expect(s.truncated)
        #expect(s.sequences == [[2] + (100..<108).map { Int32($0) } + [3]])
    }

    @Test func mergeTakesThePerLabelMaximum() {
        #expect(Windowing.merge([[0.1, 0.9, 0.2], [0.7, 0.3, 0.2], [0.0, 0.0, 0.5]]) == [0.7, 0.9, 0.5])
        #expect(Windowing.merge([[0.4, 0.6]]) == [0.4, 0.6])
    }

    @Test func lruEvictsTheLeastRecentlyUsed() {
        var cache = LRUCache<String, Int>(capacity: 2)
        cache.insert(1, for: "a")
        cache.insert(2, for: "b")
        #expect(cache.value(for: "a") == 1)  // "b" is now the least recently used
        cache.insert(3, for: "c")
        #expect(cache.value(for: "b") == nil)
        #expect(cache.value(for: "a") == 1)
        #expect(cache.value(for: "c") == 3)
        cache.insert(4, for: "a")
        #expect(cache.value(for: "a") == 4)
        #expect(cache.count == 2)
        var off = LRUCache<String, Int>(capacity: 0)
        off.insert(1, for: "a")
        #expect(off.value(for: "a") == nil)
    }
}
