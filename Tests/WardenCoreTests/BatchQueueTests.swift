import Testing

@testable import WardenCore

/// State-machine tests: no threads, no clock (time is passed in).
@Suite struct BatchQueueTests {
    let t0 = ContinuousClock.now
    func ms(_ n: Int) -> ContinuousClock.Instant { t0 + .milliseconds(n) }

    /// A `[CLS] … [SEP]` sequence of `length` tokens whose content is unique per `seed`.
    func sequence(_ length: Int, seed: Int32) -> [Int32] {
        precondition(length >= 2)
        var tokens: [Int32] = [101]
        for i in 0..<(length - 2) { tokens.append(1000 + seed * 7 + Int32(i)) }
        tokens.append(102)
        return tokens
    }

    /// A queue with the padding floor off (the tests of the other bounds mix lengths on purpose) unless
    /// `edit` sets it.
    func queue(_ edit: (inout BatchingConfiguration) -> Void = { _ in }) -> BatchQueue {
        var configuration = BatchingConfiguration()
        configuration.minPaddingEfficiency = 0
        edit(&configuration)
        return BatchQueue(configuration: configuration)
    }

    @discardableResult
    func enqueue(
        _ queue: inout BatchQueue, group: UInt64, lane: Lane = .interactive, lengths: [Int],
        at now: ContinuousClock.Instant, deadline: Duration = .seconds(10)
    ) -> BatchQueue.Admission {
        queue.enqueue(
            group: group, lane: lane,
            sequences: lengths.enumerated().map { sequence($1, seed: Int32(group) * 100 + Int32($0)) },
            deadline: now + deadline, now: now)
    }

    func batch(_ decision: BatchQueue.Decision) -> BatchQueue.Batch? {
        if case .run(let batch) = decision.action { return batch }
        return nil
    }

    @Test func closesAtMaxBatchSizeWithoutWaiting() {
        var q = queue { $0.maxBatchSize = 4 }
        for g in 0..<10 { enqueue(&q, group: UInt64(g), lengths: [8], at: t0) }
        let first = batch(q.next(now: t0))
        #expect(first?.items.count == 4)
        #expect(first?.items.map(\.group) == [0, 1, 2, 3])  // equal lengths: oldest first
        #expect(batch(q.next(now: t0))?.items.count == 4)
        // Two left: not full, so they wait for the delay.
        #expect(q.next(now: t0).action == .wait(until: ms(2)))
        #expect(batch(q.next(now: ms(2)))?.items.count == 2)
        #expect(q.next(now: ms(2)).action == .idle)
    }

    @Test func closesWhenTheTokenBudgetWouldBeExceeded() {
        var q = queue { $0.maxBatchTokens = 40 }
        for g in 0..<6 { enqueue(&q, group: UInt64(g), lengths: [10], at: t0) }
        let first = batch(q.next(now: t0))
        #expect(first?.rows.count == 4)
        #expect(first?.paddedTokens == 40)
        // A longer item raises the padded length for everyone: 2 × 10 fits, 3 × 15 does not.
        var q2 = queue { $0.maxBatchTokens = 40 }
        enqueue(&q2, group: 0, lengths: [10], at: t0)
        enqueue(&q2, group: 1, lengths: [15], at: t0)
        enqueue(&q2, group: 2, lengths: [15], at: t0)
        let second = batch(q2.next(now: t0))
        #expect(second.map { $0.rows.count * $0.length }! <= 40)
        #expect(second?.items.count == 2)
    }

    @Test func anItemLongerThanTheBudgetRunsAlone() {
        var q = queue { $0.maxBatchTokens = 16 }
        enqueue(&q, group: 0, lengths: [20], at: t0)
        enqueue(&q, group: 1, lengths: [5], at: t0)
        let first = batch(q.next(now: t0))
        #expect(first?.items.map(\.group) == [0])
        #expect(first?.length == 20)
        #expect(q.next(now: t0).action == .wait(until: ms(2)))
        #expect(batch(q.next(now: ms(2)))?.items.map(\.group) == [1])
    }

    @Test func waitsForTheOldestItemsDelayThenRuns() {
        var q = queue()
        enqueue(&q, group: 0, lengths: [8], at: t0)
        enqueue(&q, group: 1, lengths: [8], at: ms(1))
        #expect(q.next(now: ms(1)).action == .wait(until: ms(2)))
        let b = batch(q.next(now: ms(2)))
        #expect(b?.items.map(\.group) == [0, 1])
        // Bulk has its own, longer delay.
        enqueue(&q, group: 2, lane: .bulk, lengths: [8], at: ms(3))
        #expect(q.next(now: ms(5)).action == .wait(until: ms(13)))
        #expect(batch(q.next(now: ms(13)))?.lane == .bulk)
    }

    @Test func groupsSimilarLengthsAroundTheOldestItem() {
        var q = queue { $0.maxBatchSize = 3 }
        for (g, length) in [10, 50, 11, 9, 30, 10].enumerated() { enqueue(&q, group: UInt64(g), lengths: [length], at: t0) }
        let first = batch(q.next(now: t0))
        // Oldest (10), then the same length (10), then the closest: 9 (shorter preferred on a tie with 11).
        #expect(first?.items.map(\.length) == [10, 10, 9])
        #expect(first?.length == 10)
        let second = batch(q.next(now: t0))
        #expect(second?.items.map(\.length) == [50, 30, 11])
    }

    @Test func interactiveGoesFirst() {
        var q = queue { $0.maxBatchSize = 2 }
        enqueue(&q, group: 0, lane: .bulk, lengths: [8, 8], at: t0)
        enqueue(&q, group: 1, lane: .interactive, lengths: [8, 8], at: ms(1))
        #expect(batch(q.next(now: ms(1)))?.lane == .interactive)
        #expect(batch(q.next(now: ms(1)))?.lane == .bulk)
    }

    @Test func bulkIsNotStarvedByAFullInteractiveLane() {
        var q = queue {
            $0.maxBatchSize = 2
            $0.bulkShare = 4
        }
        enqueue(&q, group: 1000, lane: .bulk, lengths: Array(repeating: 8, count: 20), at: t0)
        var lanes: [Lane] = []
        var group: UInt64 = 0
        var now = ms(20)  // bulk delay passed
        for _ in 0..<20 {
            // Keep the interactive lane saturated: every batch it could form is full.
            while q.depth(.interactive) < 4 {
                enqueue(&q, group: group, lane: .interactive, lengths: [8], at: now)
                group += 1
            }
            guard let b = batch(q.next(now: now)) else {
                Issue.record("expected a batch")
                return
            }
            lanes.append(b.lane)
            now += .microseconds(100)
        }
        // Exactly one bulk batch in every 4 while bulk waits.
        #expect(lanes.filter { $0 == .bulk }.count == 5)
        for window in stride(from: 0, to: 20, by: 4) {
            #expect(lanes[window..<(window + 4)].contains(.bulk))
        }
    }

    @Test func expiredItemsAreDroppedAndReturned() {
        var q = queue()
        enqueue(&q, group: 0, lengths: [8, 9], at: t0, deadline: .milliseconds(1))
        enqueue(&q, group: 1, lengths: [8], at: t0, deadline: .seconds(5))
        let d = q.next(now: ms(3))
        #expect(Set(d.expired.map(\.group)) == [0])
        #expect(d.expired.count == 2)
        #expect(batch(d)?.items.map(\.group) == [1])
        #expect(q.statistics.expired == 2)
        // The wake-up time accounts for deadlines too.
        enqueue(&q, group: 2, lengths: [8], at: ms(3), deadline: .microseconds(500))
        if case .wait(let until) = q.next(now: ms(3)).action { #expect(until == ms(3) + .microseconds(500)) } else { Issue.record("expected wait") }
        #expect(q.next(now: ms(4)).expired.map(\.group) == [2])
    }

    @Test func cancelledGroupsNeverReachABatch() {
        var q = queue()
        enqueue(&q, group: 0, lengths: [8, 8], at: t0)
        enqueue(&q, group: 1, lengths: [8], at: t0)
        let removed = q.cancel(group: 0)
        #expect(removed.map(\.group) == [0, 0])
        #expect(q.queuedItems == 1)
        #expect(q.queuedTokens == 8)
        #expect(batch(q.next(now: ms(2)))?.items.map(\.group) == [1])
        #expect(q.statistics.cancelled == 2)
    }

    @Test func admissionBoundsItemsAndTokensWithARetryHint() {
        var q = queue {
            $0.maxQueuedItems = 3
            $0.maxQueuedTokens = 30
        }
        #expect(enqueue(&q, group: 0, lengths: [8, 8], at: t0) == .admitted)
        guard case .rejected(let byItems) = enqueue(&q, group: 1, lengths: [4, 4], at: t0) else {
            Issue.record("admitted")
            return
        }
        #expect(byItems.code == .overloaded)
        #expect(byItems.retryAfter == .seconds(1))  // no throughput measured yet
        guard case .rejected(let byTokens) = enqueue(&q, group: 2, lengths: [15], at: t0) else {
            Issue.record("admitted")
            return
        }
        #expect(byTokens.code == .overloaded)
        guard case .rejected(let tooLarge) = enqueue(&q, group: 3, lengths: [4, 4, 4, 4], at: t0) else {
            Issue.record("admitted")
            return
        }
        #expect(tooLarge.code == .requestTooLarge)
        #expect(q.statistics.rejected == 3)
        #expect(enqueue(&q, group: 4, lengths: [14], at: t0) == .admitted)  // exactly at both bounds
        // After a measured batch the hint is the estimated drain time (30 tokens at 100 tokens/s).
        let b = batch(q.next(now: ms(2)))!
        q.recordCompletion(of: b, duration: .milliseconds(Int64(b.paddedTokens * 10)))
        #expect(q.queuedTokens == 0)
        enqueue(&q, group: 5, lengths: [10, 10, 10], at: ms(2))
        #expect(q.retryHint() == .milliseconds(300))
        guard case .rejected(let full) = enqueue(&q, group: 6, lengths: [2], at: ms(2)) else {
            Issue.record("admitted")
            return
        }
        #expect(full.retryAfter == .milliseconds(300))
        #expect(full.description.contains("retry after 300 ms"))
    }

    @Test func refusesWorkWhoseDeadlineAlreadyPassed() {
        var q = queue()
        guard case .rejected(let error) = enqueue(&q, group: 0, lengths: [8], at: t0, deadline: .zero) else {
            Issue.record("admitted")
            return
        }
        #expect(error.code == .deadlineExceeded)
    }

    @Test func paddingFloorKeepsDissimilarLengthsApart() {
        var q = queue { $0.minPaddingEfficiency = 0.9 }
        enqueue(&q, group: 0, lengths: [100], at: t0)  // the seed: oldest
        enqueue(&q, group: 1, lengths: [95, 92, 10, 12, 90], at: t0)
        let long = batch(q.next(now: ms(2)))!
        #expect(long.rows.map(\.count).sorted() == [90, 92, 95, 100])
        #expect(long.paddingEfficiency >= 0.9)
        let short = batch(q.next(now: ms(4)))!
        #expect(short.rows.map(\.count).sorted() == [10, 12])
        #expect(short.paddingEfficiency >= 0.9)
        #expect(q.statistics.paddingEfficiency >= 0.9)
        // With the floor off the same items form one batch padded to 100.
        var loose = queue()
        enqueue(&loose, group: 0, lengths: [100], at: t0)
        enqueue(&loose, group: 1, lengths: [95, 92, 10, 12, 90], at: t0)
        #expect(batch(loose.next(now: ms(2)))!.rows.count == 6)
    }

    @Test func paddingIsAccounted() {
        var q = queue()
        enqueue(&q, group: 0, lengths: [10], at: t0)
        enqueue(&q, group: 1, lengths: [6], at: t0)
        let b = batch(q.next(now: ms(2)))!
        #expect(b.realTokens == 16)
        #expect(b.paddedTokens == 20)
        #expect(b.paddingEfficiency == 0.8)
        #expect(q.statistics.realTokens == 16)
        #expect(q.statistics.paddedTokens == 20)
        #expect(q.statistics.paddingEfficiency == 0.8)
        let tokens = b.tokenBatch(padID: 0)
        #expect(tokens.count == 2 && tokens.length == 10)
        #expect(Array(tokens.attentionMask[10..<20]) == [1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
        #expect(Array(tokens.inputIDs[16..<20]) == [0, 0, 0, 0])
        #expect(tokens.inputIDs[0] == 101 && tokens.inputIDs[9] == 102)
    }

    @Test func identicalSequencesInABatchAreComputedOnce() {
        var q = queue()
        let same = sequence(9, seed: 1)
        for g in 0..<3 { _ = q.enqueue(group: UInt64(g), lane: .interactive, sequences: [same], deadline: ms(1000), now: t0) }
        enqueue(&q, group: 3, lengths: [9], at: t0)
        let b = batch(q.next(now: ms(2)))!
        #expect(b.items.count == 4)
        #expect(b.rows.count == 2)
        #expect(b.rowOfItem == [0, 0, 0, 1])
        #expect(b.rows[0] == same)
        #expect(q.statistics.duplicates == 2)
    }

    @Test func drainsWithoutDelayOnShutdownThenFinishes() {
        var q = queue()
        enqueue(&q, group: 0, lengths: [8], at: t0)
        q.shutDown()
        guard case .rejected(let error) = enqueue(&q, group: 1, lengths: [8], at: t0) else {
            Issue.record("admitted")
            return
        }
        #expect(error.code == .shuttingDown)
        #expect(batch(q.next(now: t0))?.items.map(\.group) == [0])
        #expect(q.next(now: t0).action == .finished)
    }

    @Test func configurationValidation() throws {
        try BatchingConfiguration().validate(maxSequenceLength: 128)
        var tooSmall = BatchingConfiguration()
        tooSmall.maxBatchTokens = 64
        #expect(throws: ConfigurationError.self) { try tooSmall.validate(maxSequenceLength: 128) }
        try ModeratorConfiguration().validate(maxSequenceLength: 128)
        var badOverlap = ModeratorConfiguration()
        badOverlap.longTextPolicy = .windows(overlap: 126)
        let overlapError = #expect(throws: ConfigurationError.self) { try badOverlap.validate(maxSequenceLength: 128) }
        #expect(overlapError?.field == "longTextPolicy.overlap")
        try EngineConfiguration().validate(maxSequenceLength: 128)
        var noWorkers = EngineConfiguration()
        noWorkers.workers = 0
        let workersError = #expect(throws: ConfigurationError.self) { try noWorkers.validate(maxSequenceLength: 128) }
        #expect(workersError?.field == "workers")
    }

    @Test func eachLaneHasItsOwnBudgetSoAFloodOnOneCannotStarveTheOther() {
        var q = queue { q in
            q.maxQueuedTokens = 200
            q.bulk.maxQueuedTokens = 120
            q.bulk.maxRequestTokens = 60
            q.interactive.maxQueuedTokens = 50
            q.interactive.maxRequestTokens = 40
        }
        // A bulk flood fills the bulk lane's budget and is refused there...
        var group: UInt64 = 0
        while case .admitted = enqueue(&q, group: group, lane: .bulk, lengths: [20, 20], at: t0) { group += 1 }
        #expect(group == 3)
        // ...while interactive requests are still admitted: the bulk lane cannot take their room.
        #expect(enqueue(&q, group: 100, lane: .interactive, lengths: [10, 10], at: t0) == .admitted)
        #expect(enqueue(&q, group: 101, lane: .interactive, lengths: [10, 10], at: t0) == .admitted)
        // An interactive flood is bounded by its own budget in turn.
        guard case .rejected(let interactiveFull) = enqueue(&q, group: 102, lane: .interactive, lengths: [10, 10], at: t0) else {
            Issue.record("admitted past the interactive budget")
            return
        }
        #expect(interactiveFull.code == .overloaded)
        #expect(interactiveFull.description.contains("interactive lane"))
    }

    @Test func oneRequestMayTakeOnlyItsLanesShare() {
        var q = queue { q in
            q.bulk.maxRequestTokens = 60
            q.interactive.maxRequestTokens = 40
        }
        guard case .rejected(let interactive) = enqueue(&q, group: 0, lane: .interactive, lengths: [30, 30], at: t0) else {
            Issue.record("admitted")
            return
        }
        #expect(interactive.code == .requestTooLarge)
        #expect(interactive.description.contains("bulk lane"), "the answer says where such a request belongs")
        guard case .rejected(let bulk) = enqueue(&q, group: 1, lane: .bulk, lengths: [40, 40], at: t0) else {
            Issue.record("admitted")
            return
        }
        #expect(bulk.code == .requestTooLarge)
        #expect(enqueue(&q, group: 2, lane: .bulk, lengths: [30, 30], at: t0) == .admitted)
    }

    @Test func aRequestThatCannotMeetItsDeadlineIsRefusedBeforeAnyCompute() {
        var q = queue { $0.maxBatchSize = 1 }
        // Measure a rate: one batch of 10 tokens in 10 ms, 1,000 tokens/s on the one worker. One is enough:
        // the engine's warm-up gives the first measurement before any request is admitted.
        #expect(enqueue(&q, group: 0, lane: .bulk, lengths: [10], at: t0) == .admitted)
        q.recordCompletion(of: batch(q.next(now: t0))!, duration: .milliseconds(10))
        // 2,000 tokens need about 2 s, more than a 200 ms deadline allows.
        guard
            case .rejected(let unreachable) = enqueue(
                &q, group: 50, lane: .bulk, lengths: Array(repeating: 100, count: 20),
                at: t0, deadline: .milliseconds(200))
        else {
            Issue.record("admitted")
            return
        }
        #expect(unreachable.code == .deadlineExceeded)
        #expect(unreachable.description.contains("before any compute"))
        #expect(q.queuedItems == 0, "nothing of it was queued")
        // With a deadline it can meet, the same request is admitted.
        #expect(enqueue(&q, group: 51, lane: .bulk, lengths: Array(repeating: 100, count: 20), at: t0, deadline: .seconds(5)) == .admitted)
    }

    @Test func theEstimateCountsWorkInFlightAndIsNotDiscounted() {
        var q = queue { $0.maxBatchSize = 4 }
        #expect(enqueue(&q, group: 0, lane: .bulk, lengths: [100], at: t0) == .admitted)
        q.recordCompletion(of: batch(q.next(now: ms(10)))!, duration: .milliseconds(100))  // 1,000 tokens/s
        #expect(q.measuredTokensPerSecond(.bulk) == 1000)
        #expect(q.measuredTokensPerSecond(.interactive) == 1000, "a lane not measured yet borrows the other's rate")
        // 400 tokens now run on the worker: a new 100-token bulk request waits behind them.
        #expect(enqueue(&q, group: 1, lane: .bulk, lengths: [100, 100, 100, 100], at: t0) == .admitted)
        let running = batch(q.next(now: ms(10)))!  // full at 4 items: runs at once
        #expect(running.paddedTokens == 400)
        #expect(q.estimatedWait(tokens: 100) == .milliseconds(500))
        // 500 ms of work cannot be done in 450 ms: refused before compute; 550 ms is enough.
        guard case .rejected(let refused) = enqueue(&q, group: 2, lane: .bulk, lengths: [100], at: ms(10), deadline: .milliseconds(450)) else {
            Issue.record("admitted")
            return
        }
        #expect(refused.code == .deadlineExceeded)
        #expect(enqueue(&q, group: 3, lane: .bulk, lengths: [100], at: ms(10), deadline: .milliseconds(550)) == .admitted)
        // Once the batch completes, its tokens no longer count.
        q.recordCompletion(of: running, duration: .milliseconds(400))
        #expect(q.estimatedWait(tokens: 100) == .milliseconds(200))
    }

    @Test func eachLaneHasItsOwnRateSoChatTrafficDoesNotSlowTheBulkEstimate() {
        var q = queue { $0.maxBatchSize = 1 }
        // A bulk batch of 1,000 tokens in 100 ms: 10,000 tokens/s.
        #expect(enqueue(&q, group: 0, lane: .bulk, lengths: [1000], at: t0) == .admitted)
        q.recordCompletion(of: batch(q.next(now: t0))!, duration: .milliseconds(100))
        // Many chat messages of 10 tokens in 5 ms each: 2,000 tokens/s.
        for i in 1...20 {
            #expect(enqueue(&q, group: UInt64(i), lengths: [10], at: t0) == .admitted)
            q.recordCompletion(of: batch(q.next(now: t0))!, duration: .milliseconds(5))
        }
        #expect(q.measuredTokensPerSecond(.interactive) == 2000)
        #expect(q.measuredTokensPerSecond(.bulk) == 10_000)
        #expect(q.estimatedWait(tokens: 10_000) == .seconds(1))
        // After a reset (the end of the engine's first warm-up pass) nothing is known.
        q.resetThroughputEstimate()
        #expect(q.measuredTokensPerSecond(.bulk) == nil && q.estimatedWait(tokens: 10) == nil)
    }

    @Test func aBulkRequestThatCanNoLongerMakeItIsDroppedBeforeItsFirstRowIsComputed() {
        var q = queue { $0.maxBatchSize = 2 }
        #expect(enqueue(&q, group: 0, lane: .bulk, lengths: [100, 100], at: t0) == .admitted)
        q.recordCompletion(of: batch(q.next(now: t0))!, duration: .milliseconds(20))  // 10,000 tokens/s
        // Admitted: 1,000 tokens need about 100 ms of a 2 s deadline.
        #expect(enqueue(&q, group: 1, lane: .bulk, lengths: Array(repeating: 100, count: 10), at: t0, deadline: .seconds(2)) == .admitted)
        // The first batch of it runs; it has started, so it is finished even if the machine slows down.
        let started = batch(q.next(now: t0))!
        #expect(started.items.allSatisfy { $0.group == 1 })
        // 200 tokens in flight, 800 of the started request and its own 1,000: 200 ms of its 300.
        #expect(enqueue(&q, group: 2, lane: .bulk, lengths: Array(repeating: 100, count: 10), at: t0, deadline: .milliseconds(300)) == .admitted)
        // The machine slows down: the started batch took 20 s, and the mean rate halves to about 5,000
        // tokens/s, so the 1,800 tokens ahead of the second request's end need 360 ms, more than it has left.
        q.recordCompletion(of: started, duration: .seconds(20))
        let decision = q.next(now: ms(20))
        #expect(Set(decision.expired.map(\.group)) == [2], "the request not started is dropped, whole, before compute")
        #expect(decision.expired.count == 10)
        #expect(batch(decision).map { $0.items.allSatisfy { $0.group == 1 } } == true, "the started one goes on")
        #expect(q.statistics.expired == 10)
    }

    @Test func aStartedBulkRequestIsFinishedPastItsDeadlineSoA504NeverThrowsComputeAway() {
        var q = queue { $0.maxBatchSize = 2 }
        #expect(enqueue(&q, group: 1, lane: .bulk, lengths: [50, 50, 50, 50], at: t0, deadline: .milliseconds(100)) == .admitted)
        #expect(enqueue(&q, group: 2, lane: .interactive, lengths: [20], at: t0, deadline: .milliseconds(100)) == .admitted)
        #expect(enqueue(&q, group: 3, lane: .bulk, lengths: [60], at: ms(1), deadline: .milliseconds(100)) == .admitted)
        // The interactive item goes first; then two of the first bulk request's four items.
        #expect(batch(q.next(now: ms(5)))?.items.map(\.group) == [2])
        #expect(batch(q.next(now: ms(5)))?.items.map(\.group) == [1, 1])
        // Past the deadline: the started request keeps its last two items, the one not started expires.
        let late = q.next(now: ms(500))
        #expect(late.expired.map(\.group) == [3])
        #expect(batch(late)?.items.map(\.group) == [1, 1])
        #expect(q.queuedItems == 0)
    }

    @Test func aRefusalForTheDeadlineSaysWhenToRetry() {
        var q = queue { $0.maxBatchSize = 1 }
        #expect(enqueue(&q, group: 0, lane: .bulk, lengths: [100], at: t0) == .admitted)
        q.recordCompletion(of: batch(q.next(now: t0))!, duration: .milliseconds(100))  // 1,000 tokens/s
        guard
            case .rejected(let refused) = enqueue(
                &q, group: 1, lane: .bulk, lengths: Array(repeating: 100, count: 50), at: t0,
                deadline: .seconds(2))
        else {
            Issue.record("admitted")
            return
        }
        // 5,000 tokens need about 5 s; the deadline allows 2: retry in about 3 s, when that much work has drained.
        #expect(refused.retryAfter == .seconds(3))
    }

    @Test func aBulkBatchIsCappedToItsTimeBudgetSoInteractiveWorkWaitsBehindLittle() {
        var q = queue {
            $0.maxBatchSize = 64
            $0.maxBatchTokens = 8192
            $0.maxBulkBatchTime = .milliseconds(250)
        }
        // Before any measurement the full budget applies.
        #expect(q.batchTokenBudget(.bulk) == 8192)
        #expect(enqueue(&q, group: 0, lane: .bulk, lengths: [100], at: t0) == .admitted)
        q.recordCompletion(of: batch(q.next(now: ms(10)))!, duration: .milliseconds(10))  // 10,000 tokens/s
        // 250 ms at 10,000 tokens/s: 2,500 tokens, so 25 rows of 100; interactive batches keep the full budget.
        #expect(q.batchTokenBudget(.bulk) == 2500)
        #expect(q.batchTokenBudget(.interactive) == 8192)
        #expect(enqueue(&q, group: 1, lane: .bulk, lengths: Array(repeating: 100, count: 60), at: t0) == .admitted)
        let capped = batch(q.next(now: t0))!
        #expect(capped.items.count == 25)
        // A slower measured rate never cuts a batch below a quarter of maxBatchTokens.
        q.recordCompletion(of: capped, duration: .seconds(100))
        #expect(q.batchTokenBudget(.bulk) == 2048)
        // Zero turns the cap off.
        var uncapped = queue {
            $0.maxBatchTokens = 8192
            $0.maxBulkBatchTime = .zero
        }
        #expect(enqueue(&uncapped, group: 0, lane: .bulk, lengths: [100], at: t0) == .admitted)
        uncapped.recordCompletion(of: batch(uncapped.next(now: ms(10)))!, duration: .milliseconds(10))
        #expect(uncapped.batchTokenBudget(.bulk) == 8192)
    }

    // MARK: - Packing

    func packedQueue(rowTokens: Int, rows: Int, _ edit: (inout BatchingConfiguration) -> Void = { _ in }) -> BatchQueue {
        var configuration = BatchingConfiguration()
        configuration.packedRowTokens = rowTokens
        configuration.maxBatchTokens = rowTokens * rows
        edit(&configuration)
        return BatchQueue(configuration: configuration, packs: true)
    }

    @Test func packingPlacesMessagesFirstFitIntoRowsOfTheConfiguredSize() throws {
        var q = packedQueue(rowTokens: 16, rows: 2)
        enqueue(&q, group: 1, lengths: [10, 6, 5, 4, 12], at: t0)
        let batch = try #require(self.batch(q.next(now: ms(0))), "a token budget refusal makes the batch full at once")
        let layout = try #require(batch.packing)
        #expect(batch.items.map(\.index) == [0, 1, 2, 3], "the 12-token item fits no row and no third row is allowed")
        #expect(layout.rowCount == 2)
        #expect(layout.placements.map(\.row) == [0, 0, 1, 1])
        #expect(layout.placements.map(\.segment) == [0, 1, 0, 1])
        #expect(layout.placements.map(\.offset) == [0, 10, 0, 5])
        #expect(layout.segmentsPerRow == 2)
        #expect(batch.length == 16, "rows are as long as the fullest row")
        #expect(batch.realTokens == 25 && batch.paddedTokens == 32)
        #expect(abs(batch.paddingEfficiency - 25.0 / 32.0) < 1e-12)
        #expect(q.queuedItems == 1)
    }

    @Test func aShorterLaterItemFillsAGapAfterALongerOneWasRefused() throws {
        var q = packedQueue(rowTokens: 16, rows: 1)
        enqueue(&q, group: 1, lengths: [10, 12, 6], at: t0)
        let batch = try #require(self.batch(q.next(now: ms(0))))
        #expect(batch.items.map(\.index) == [0, 2])
        #expect(batch.packing?.rowCount == 1 && batch.length == 16)
    }

    @Test func aMessageLongerThanARowGetsARowOfItsOwn() throws {
        var q = packedQueue(rowTokens: 8, rows: 4) { $0.maxBatchSize = 3 }
        enqueue(&q, group: 1, lengths: [12, 5, 3], at: t0)
        let batch = try #require(self.batch(q.next(now: ms(0))))
        let layout = try #require(batch.packing)
        #expect(layout.placements.map(\.row) == [0, 1, 1])
        #expect(batch.length == 12)
        #expect(batch.paddedTokens == 24)
    }

    @Test func aPartlyFilledPackedBatchWaitsForItsDelay() {
        var q = packedQueue(rowTokens: 128, rows: 4)
        enqueue(&q, group: 1, lengths: [20, 30], at: t0)
        #expect(q.next(now: ms(1)).action == .wait(until: ms(2)))
        #expect(batch(q.next(now: ms(2)))?.items.count == 2)
    }

    @Test func packedInputsRestartPositionsAndNumberSegmentsPerRow() throws {
        var q = packedQueue(rowTokens: 8, rows: 2)
        let a: [Int32] = [101, 7, 102], b: [Int32] = [101, 8, 9, 102], c: [Int32] = [101, 102]
        #expect(q.enqueue(group: 1, lane: .interactive, sequences: [a, b, c, a], deadline: ms(1000), now: t0) == .admitted)
        let batch = try #require(self.batch(q.next(now: ms(5))))
        #expect(batch.rows == [a, b, c], "the duplicate shares the first copy's slot")
        #expect(batch.rowOfItem == [0, 1, 2, 0])
        let input = try #require(batch.packedTokenBatch(padID: 0))
        #expect(input.rows == 2 && input.length == 7 && input.segments == 2)
        #expect(input.inputIDs == [101, 7, 102, 101, 8, 9, 102, 101, 102, 0, 0, 0, 0, 0])
        #expect(input.positionIDs == [0, 1, 2, 0, 1, 2, 3, 0, 1, 0, 0, 0, 0, 0])
        #expect(input.segmentIDs == [1, 1, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 0])
        // Output [rows, segments, labels] back to one row per sequence: (row 0, slot 0), (0, 1), (1, 0).
        let output: [Float] = [1, 1, 2, 2, 3, 3, -1, -1]
        #expect(batch.expectedOutputCount(labels: 2) == 8)
        #expect(batch.scoresPerSequence(output, labels: 2) == [1, 1, 2, 2, 3, 3])
        #expect(batch.tokenBatch(padID: 0).count == 3, "the padded form of the same batch stays available")
    }

    @Test func packedBatchesCountItemsAgainstTheBatchSize() throws {
        var q = packedQueue(rowTokens: 128, rows: 4) { $0.maxBatchSize = 2 }
        enqueue(&q, group: 1, lengths: [5, 5, 5], at: t0)
        let batch = try #require(self.batch(q.next(now: ms(0))))
        #expect(batch.items.count == 2 && batch.packing?.rowCount == 1)
    }

    @Test func aPackedPlanWithOneMessagePerRowRunsPadded() throws {
        var q = packedQueue(rowTokens: 16, rows: 4)
        enqueue(&q, group: 1, lengths: [12, 10, 9], at: t0)
        let batch = try #require(self.batch(q.next(now: ms(5))))
        #expect(batch.packing == nil, "no row holds two messages: the padded forward is the cheaper one")
        #expect(batch.rows.map(\.count) == [12, 10, 9] && batch.length == 12)
    }

    // MARK: Row width chosen by a cost model

    /// A cost model in which attention dominates (per token per width 100 × per token / 128).
    let attentionHeavy = PackingCostModel(perForward: 1e-3, perToken: 1e-5, perTokenPerWidth: 1e-5 * 100 / 128)

    /// Every sequence of `batch` lies at its placement in the packed input, and no row is wider than the batch.
    func expectConsistentLayout(_ batch: BatchQueue.Batch) throws {
        let layout = try #require(batch.packing)
        let input = try #require(batch.packedTokenBatch(padID: 0))
        var used = Set<[Int]>()
        for (sequence, place) in zip(batch.rows, layout.placements) {
            #expect(place.offset + sequence.count <= batch.length)
            let base = place.row * batch.length + place.offset
            #expect(Array(input.inputIDs[base..<(base + sequence.count)]) == sequence.map(Int64.init))
            #expect(Set(input.segmentIDs[base..<(base + sequence.count)]) == [Int64(place.segment + 1)])
            #expect(used.insert([place.row, place.segment]).inserted, "one sequence per slot")
        }
    }

    @Test func withoutACostModelRowsHaveTheConfiguredWidth() throws {
        var q = packedQueue(rowTokens: 128, rows: 4) { $0.maxBatchSize = 16 }
        enqueue(&q, group: 1, lengths: Array(repeating: 10, count: 16), at: t0)
        let batch = try #require(self.batch(q.next(now: ms(0))))
        #expect(batch.packing?.rowCount == 2 && batch.length == 120, "12 messages fill the first 128-token row, 4 the second")
    }

    /// Sixteen short chat messages of mixed lengths (5 to 14 tokens, 152 in all).
    let chatLengths = [10, 6, 14, 8, 12, 7, 9, 11, 13, 5, 10, 6, 14, 8, 12, 7]

    @Test func anAttentionHeavyCostModelPacksShortMessagesIntoNarrowRows() throws {
        var fixed = packedQueue(rowTokens: 128, rows: 4) { $0.maxBatchSize = 16 }
        enqueue(&fixed, group: 1, lengths: chatLengths, at: t0)
        let wide = try #require(self.batch(fixed.next(now: ms(0))))
        #expect(wide.packing?.rowCount == 2 && wide.length == 125)

        var q = packedQueue(rowTokens: 128, rows: 4) { $0.maxBatchSize = 16 }
        q.packingCost = attentionHeavy
        enqueue(&q, group: 1, lengths: chatLengths, at: t0)
        let batch = try #require(self.batch(q.next(now: ms(0))))
        let layout = try #require(batch.packing, "narrow rows still hold two short messages each")
        #expect(batch.items.map(\.index) == wide.items.map(\.index), "the same messages are chosen; only their layout changes")
        #expect(batch.length <= 16, "rows as narrow as the longest message allows, not 125")
        #expect(layout.rowCount * batch.length <= 4 * 128, "within the token budget")
        #expect(attentionHeavy.seconds(rows: layout.rowCount, width: batch.length) < attentionHeavy.seconds(rows: 2, width: 125))
        try expectConsistentLayout(batch)
    }

    @Test func longMessagesKeepWideRowsUnderTheSameModel() throws {
        var q = packedQueue(rowTokens: 128, rows: 4)
        q.packingCost = attentionHeavy
        enqueue(&q, group: 1, lengths: [100, 20, 90, 30, 60, 60], at: t0)
        let batch = try #require(self.batch(q.next(now: ms(5))))
        #expect(batch.items.count == 6)
        #expect(batch.length >= 100, "no row is narrower than the longest message")
        try expectConsistentLayout(batch)
    }

    @Test func whenAttentionCostsNothingTheLeastPaddingWins() throws {
        var q = packedQueue(rowTokens: 128, rows: 4) { $0.maxBatchSize = 8 }
        q.packingCost = PackingCostModel(perForward: 1e-3, perToken: 1e-5, perTokenPerWidth: 0)
        enqueue(&q, group: 1, lengths: [40, 40, 40, 40, 24, 24, 24, 24], at: t0)
        let batch = try #require(self.batch(q.next(now: ms(0))))
        #expect(batch.paddedTokens == batch.realTokens, "a width of 64 packs 40 + 24 into each row with no padding")
        try expectConsistentLayout(batch)
    }

    @Test func candidateWidthsRunFromTheLongestMessageToTheRowCapacity() {
        #expect(BatchQueue.candidateWidths(longest: 10, capacity: 128) == [10, 16, 32, 48, 64, 80, 96, 112, 128])
        #expect(BatchQueue.candidateWidths(longest: 128, capacity: 128) == [128])
        #expect(BatchQueue.candidateWidths(longest: 20, capacity: 32) == [20, 24, 32])
        #expect(BatchQueue.candidateWidths(longest: 40, capacity: 32) == [40], "a message longer than a row")
    }
}
