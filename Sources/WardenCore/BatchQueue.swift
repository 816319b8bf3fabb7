import DequeModule

/// The batching engine's decisions as a pure state machine: waiting items per ``Lane``, admission, expiry,
/// cancellation and the choice of the next batch.
///
/// It has no threads, locks or clock: the owner (``Batcher``) passes the time in, performs the actions the
/// transitions return (run a batch, wake up later, answer dropped items) and serialises all calls.
///
/// How the next batch is chosen (``next(now:)``):
/// 1. Items whose deadline passed are removed and returned (never computed).
/// 2. Lanes are tried in priority order: interactive first, except that while bulk items wait, after
///    `bulkShare - 1` consecutive interactive batches the bulk lane goes first (reserved share).
/// 3. For a lane, the batch is seeded with its oldest item and filled with the items of closest length
///    (shorter first on ties, then oldest first), as long as it has fewer than `maxBatchSize` items,
///    `rows × longest` stays within `maxBatchTokens` (a lone item longer than the budget still runs), and
///    the batch's padding efficiency stays at or above `minPaddingEfficiency` (an item that would pad it
///    more waits for a batch nearer its own length).
///    Identical token sequences share one row (computed once).
/// 4. The batch runs if it is full (size reached, or the token budget refused an item), if its seed has
///    waited the lane's `maxQueueDelay`, or if the queue is shutting down (draining). Otherwise the owner
///    is told when to come back: the earliest lane delay or item deadline.
///
/// With packing (``packs``), step 3 differs: items are taken oldest first (the seed first) and placed
/// first-fit into rows of `packedRowTokens` tokens; a batch holds at most `maxBatchSize` items and
/// `maxBatchTokens / packedRowTokens` rows. When an item fits no row and no row can be added, the batch is
/// full, but later (shorter) items may still fill the gaps. There is no padding floor: rows are padded only
/// at their end, to the fullest row. With a ``packingCost`` model, the chosen sequences are then packed again
/// at the row width the model finds cheapest (narrow rows for short messages, whose attention would otherwise
/// span a whole `packedRowTokens` row). A batch whose rows hold one message each runs as a padded batch.
///
/// Lanes never share a batch: a bulk item riding along in an interactive batch would make that batch
/// slower, which is the latency interactive callers must not pay.
public struct BatchQueue: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// One model input waiting for a batch.
    public struct Item: Sendable, Equatable {
        /// Unique id, assigned by the queue in arrival order.
        public let id: UInt64
        /// The request (group of items) it belongs to; chosen by the owner.
        public let group: UInt64
        /// Position of the item within its group.
        public let index: Int
        public let lane: Lane
        /// `[CLS] … [SEP]` token ids, unpadded.
        public let tokens: [Int32]
        public let enqueuedAt: Instant
        public let deadline: Instant
        /// Number of tokens (real, unpadded).
        public var length: Int { tokens.count }
    }

    /// Where a packed batch puts its sequences: model rows holding several sequences each.
    public struct PackedLayout: Sendable, Equatable {
        /// The packed row and slot of one sequence.
        public struct Placement: Sendable, Equatable {
            /// Model row.
            public let row: Int
            /// Slot within the row (0-based; the model sees segment id `segment + 1`).
            public let segment: Int
            /// First token position within the row.
            public let offset: Int
        }
        /// Model rows.
        public let rowCount: Int
        /// Length of every model row: the fullest row's tokens.
        public let rowLength: Int
        /// The most sequences in one row (the model's segment dimension).
        public let segmentsPerRow: Int
        /// `placements[j]` places the batch's `rows[j]`.
        public let placements: [Placement]
    }

    /// A batch chosen to run. `rows` are the distinct token sequences; each item maps to one of them. Padded,
    /// each sequence is one model row; packed (``packing`` non-nil), several sequences share a model row.
    public struct Batch: Sendable, Equatable {
        /// The lane the batch was formed from.
        public let lane: Lane
        /// The items answered by this batch.
        public let items: [Item]
        /// Distinct token sequences to compute (duplicates collapsed), unpadded.
        public let rows: [[Int32]]
        /// `rowOfItem[i]` is the sequence (index into `rows`) whose result answers `items[i]`.
        public let rowOfItem: [Int]
        /// Length of the model's rows: padded, the longest sequence; packed, the fullest packed row.
        public let length: Int
        /// The packed layout, or nil for a padded batch.
        public let packing: PackedLayout?
        /// Real tokens computed: the sum of the sequences' lengths.
        public var realTokens: Int { rows.reduce(0) { $0 + $1.count } }
        /// Tokens the model processes, padding included: model rows × ``length``.
        public var paddedTokens: Int { (packing?.rowCount ?? rows.count) * length }
        /// `realTokens / paddedTokens`: the share of the computed tokens that are real (1 means no padding).
        /// For packed batches this is the packing efficiency.
        public var paddingEfficiency: Double { Double(realTokens) / Double(max(paddedTokens, 1)) }

        /// The padded model input: rows padded with `padID` to ``length``, mask 1 for real tokens.
        public func tokenBatch(padID: Int32) -> TokenBatch {
            var ids = [Int64](repeating: Int64(padID), count: rows.count * length)
            var mask = [Int64](repeating: 0, count: rows.count * length)
            for (r, row) in rows.enumerated() {
                let base = r * length
                for (c, id) in row.enumerated() {
                    ids[base + c] = Int64(id)
                    mask[base + c] = 1
                }
            }
            return TokenBatch(count: rows.count, length: length, inputIDs: ids, attentionMask: mask)
        }

        /// The packed model input; nil for a padded batch.
        public func packedTokenBatch(padID: Int32) -> PackedTokenBatch? {
            guard let packing else { return nil }
            let cells = packing.rowCount * length
            var ids = [Int64](repeating: Int64(padID), count: cells)
            var positions = [Int64](repeating: 0, count: cells)
            var segments = [Int64](repeating: 0, count: cells)
            for (sequence, place) in zip(rows, packing.placements) {
                let base = place.row * length + place.offset
                for (c, id) in sequence.enumerated() {
                    ids[base + c] = Int64(id)
                    positions[base + c] = Int64(c)
                    segments[base + c] = Int64(place.segment + 1)
                }
            }
            return PackedTokenBatch(
                rows: packing.rowCount, length: length, segments: packing.segmentsPerRow,
                inputIDs: ids, positionIDs: positions, segmentIDs: segments)
        }

        /// Turns a packed model output `[rowCount, segmentsPerRow, labels]` into one row of `labels` scores per
        /// sequence, in ``rows`` order (`[rows.count * labels]`); a padded output is returned as it is.
        public func scoresPerSequence(_ output: [Float], labels: Int) -> [Float] {
            guard let packing else { return output }
            var scores = [Float]()
            scores.reserveCapacity(rows.count * labels)
            for place in packing.placements {
                let start = (place.row * packing.segmentsPerRow + place.segment) * labels
                scores.append(contentsOf: output[start..<(start + labels)])
            }
            return scores
        }

        /// The number of scores the model returns for this batch: per model row and slot, `labels` each.
        public func expectedOutputCount(labels: Int) -> Int {
            guard let packing else { return rows.count * labels }
            return packing.rowCount * packing.segmentsPerRow * labels
        }
    }

    /// What the owner should do after ``next(now:)``.
    public enum Action: Sendable, Equatable {
        /// Run this batch on the backend.
        case run(Batch)
        /// Nothing is ready; call ``BatchQueue/next(now:)`` again at this instant (or when items arrive).
        case wait(until: Instant)
        /// Nothing is waiting; call again when items arrive.
        case idle
        /// Shut down and empty: the owner's workers may stop.
        case finished
    }

    /// The result of ``next(now:)``: an action and the items dropped because their deadline passed,
    /// which the owner answers with ``ModerationError/Code/deadlineExceeded``.
    public struct Decision: Sendable, Equatable {
        public var action: Action
        public var expired: [Item]
    }

    /// The result of ``enqueue(group:lane:sequences:deadline:now:)``.
    public enum Admission: Sendable, Equatable {
        case admitted
        /// Refused at once; the error says why (overloaded with a retry hint, too large, shutting down,
        /// deadline already passed).
        case rejected(ModerationError)
    }

    /// Running totals since the queue was created.
    public struct Statistics: Sendable, Equatable {
        public var batches = 0
        /// Items answered by batches.
        public var items = 0
        /// Rows computed (items minus collapsed duplicates).
        public var rows = 0
        public var realTokens = 0
        public var paddedTokens = 0
        /// Items answered by another identical row of their batch.
        public var duplicates = 0
        public var expired = 0
        public var cancelled = 0
        /// Requests (not items) refused by admission.
        public var rejected = 0
        /// `realTokens / paddedTokens` over all batches so far (1 when none ran).
        public var paddingEfficiency: Double { paddedTokens == 0 ? 1 : Double(realTokens) / Double(paddedTokens) }
    }

    public let configuration: BatchingConfiguration
    /// Workers taking batches from this queue (for retry hints).
    public let workers: Int
    /// Whether batches are packed (see the type's documentation); otherwise padded.
    public let packs: Bool
    /// What a packed forward costs by shape (fitted by the engine at warm-up). When set, each packed batch's
    /// sequences are packed again at the row width the model finds cheapest (``cheapestWidth(_:lane:)``);
    /// when nil, rows are `packedRowTokens` wide, filled first-fit.
    public var packingCost: PackingCostModel?
    public private(set) var statistics = Statistics()
    /// Items waiting, both lanes.
    public private(set) var queuedItems = 0
    /// Tokens waiting (sum of item lengths), both lanes.
    public private(set) var queuedTokens = 0
    /// Whether ``shutDown()`` was called: no admission, no batching delay.
    public private(set) var isShuttingDown = false
    /// Whether ``removeWaiting()`` closed admission (the workers go on until ``shutDown()``).
    public private(set) var isAdmissionClosed = false

    private var interactive = Deque<Item>()
    private var bulk = Deque<Item>()
    private var nextID: UInt64 = 0
    /// A lower bound of the waiting items' deadlines (exact after each expiry scan).
    private var earliestDeadline: Instant?
    /// Consecutive interactive batches formed while bulk items were waiting.
    private var interactiveStreak = 0
    /// Smoothed throughput of one worker in padded tokens per second, per lane (a batch holds one lane's
    /// items), for retry hints, deadline admission and the bulk batch cap. Per lane, because a chat message
    /// alone in a batch runs at a fraction of a full bulk batch's rate: one blended figure would make bulk
    /// estimates far too slow while chat traffic flows. Empty until a batch has completed (the engine's
    /// warm-up measures both lanes).
    private var throughput: [Lane: Throughput] = [:]
    /// Padded tokens of the batches handed out and not yet completed: work every new request waits behind.
    private var inFlightTokens = 0
    /// Tokens still waiting, per request (group).
    private var groupTokens: [UInt64: Int] = [:]
    /// Requests of which some item has been handed out in a batch (and some still wait).
    private var startedGroups: Set<UInt64> = []
    /// Tokens waiting in the interactive lane (the bulk lane's are `queuedTokens - interactiveTokens`).
    private var interactiveTokens = 0

    /// A queue for `workers` workers, forming packed batches when `packs` is true.
    /// - Precondition: `configuration` is valid (``BatchingConfiguration/validate(maxSequenceLength:)``).
    public init(configuration: BatchingConfiguration, workers: Int = 1, packs: Bool = false) {
        self.configuration = configuration
        self.workers = max(workers, 1)
        self.packs = packs
    }

    /// Items waiting in `lane`.
    public func depth(_ lane: Lane) -> Int { items(lane).count }

    /// Admits the items of one request (all or none), each sequence one item with the same deadline.
    ///
    /// Refuses when the queue is shutting down, when the deadline has already passed, when the request alone
    /// exceeds the admission bounds (``ModerationError/Code/requestTooLarge``), or when admitting it would
    /// exceed them (``ModerationError/Code/overloaded`` with a retry hint: the estimated time to drain the
    /// queue, between 100 ms and 60 s).
    /// - Precondition: every sequence has at least one token; `group` is not already queued.
    public mutating func enqueue(group: UInt64, lane: Lane, sequences: [[Int32]], deadline: Instant, now: Instant) -> Admission {
        precondition(sequences.allSatisfy { !$0.isEmpty }, "a model input has at least one token")
        guard !isShuttingDown && !isAdmissionClosed else {
            statistics.rejected += 1
            return .rejected(.shuttingDown)
        }
        guard deadline > now else {
            statistics.rejected += 1
            return .rejected(.deadlineExceeded())
        }
        let tokens = sequences.reduce(0) { $0 + $1.count }
        let settings = configuration.settings(for: lane)
        let maxTokens = min(configuration.maxQueuedTokens, settings.maxRequestTokens)
        if sequences.count > configuration.maxQueuedItems || tokens > maxTokens {
            statistics.rejected += 1
            return .rejected(
                .requestTooLarge(
                    items: sequences.count, tokens: tokens, maxItems: configuration.maxQueuedItems,
                    maxTokens: maxTokens, lane: lane))
        }
        let laneTokens = lane == .interactive ? interactiveTokens : queuedTokens - interactiveTokens
        if laneTokens + tokens > settings.maxQueuedTokens {
            statistics.rejected += 1
            return .rejected(.overloaded("\(laneTokens) of the \(lane) lane's \(settings.maxQueuedTokens) tokens waiting", retryAfter: retryHint()))
        }
        // A bulk request that cannot be scored before its deadline (estimated from the work ahead of it and
        // the measured rate) is refused now, instead of occupying the queue and failing after its rows were
        // computed. Interactive requests are small (the lane's per-request cap) and many of them share one
        // batch, which a per-token rate cannot foresee; if one waits past its deadline, its items are dropped
        // before compute all the same.
        if lane == .bulk, let estimate = estimatedWait(tokens: tokens), now + estimate > deadline {
            statistics.rejected += 1
            return .rejected(.deadlineUnreachable(estimate: estimate, deadline: now.duration(to: deadline)))
        }
        if queuedItems + sequences.count > configuration.maxQueuedItems {
            statistics.rejected += 1
            return .rejected(.overloaded("\(queuedItems) of \(configuration.maxQueuedItems) items waiting", retryAfter: retryHint()))
        }
        if queuedTokens + tokens > configuration.maxQueuedTokens {
            statistics.rejected += 1
            return .rejected(.overloaded("\(queuedTokens) of \(configuration.maxQueuedTokens) tokens waiting", retryAfter: retryHint()))
        }
        for (index, sequence) in sequences.enumerated() {
            let item = Item(id: nextID, group: group, index: index, lane: lane, tokens: sequence, enqueuedAt: now, deadline: deadline)
            nextID &+= 1
            switch lane {
            case .interactive: interactive.append(item)
            case .bulk: bulk.append(item)
            }
        }
        queuedItems += sequences.count
        queuedTokens += tokens
        groupTokens[group, default: 0] += tokens
        if lane == .interactive { interactiveTokens += tokens }
        earliestDeadline = earliestDeadline.map { min($0, deadline) } ?? deadline
        return .admitted
    }

    /// Removes the waiting items of `group` because its caller went away, counts them as cancelled and
    /// returns them. Items already handed out in a batch are not affected.
    public mutating func cancel(group: UInt64) -> [Item] {
        let removed = discard(group: group)
        statistics.cancelled += removed.count
        return removed
    }

    /// Removes the waiting items of `group` (e.g. another of its items failed) and returns them.
    public mutating func discard(group: UInt64) -> [Item] {
        var removed: [Item] = []
        for lane in Lane.allCases {
            guard items(lane).contains(where: { $0.group == group }) else { continue }
            withItems(lane) { items in
                var kept = Deque<Item>()
                kept.reserveCapacity(items.count)
                for item in items {
                    if item.group == group { removed.append(item) } else { kept.append(item) }
                }
                items = kept
            }
        }
        account(removed: removed)
        return removed
    }

    /// Stops admission; from now on batches close without waiting for their delay, and ``next(now:)``
    /// answers ``Action/finished`` once the queue is empty.
    public mutating func shutDown() { isShuttingDown = true }

    /// Stops admission and removes every waiting item (a hard stop); returns them.
    public mutating func removeAll() -> [Item] {
        isShuttingDown = true
        return removeWaiting()
    }

    /// Closes admission and removes every waiting item, returning them; unlike ``removeAll()`` the queue is
    /// not shut down, so its owner's workers stay until ``shutDown()`` (the end of a drain that ran short).
    public mutating func removeWaiting() -> [Item] {
        isAdmissionClosed = true
        let removed = Array(interactive) + Array(bulk)
        interactive.removeAll()
        bulk.removeAll()
        queuedItems = 0
        queuedTokens = 0
        interactiveTokens = 0
        earliestDeadline = nil
        groupTokens = [:]
        startedGroups = []
        return removed
    }

    /// A lane's measured rate: a plain mean over its first 5 batches, then exponential smoothing (weight
    /// 0.2 on the newest).
    struct Throughput: Sendable {
        var tokensPerSecond: Double
        var batches: Int

        mutating func add(_ rate: Double) {
            batches += 1
            let weight = max(0.2, 1 / Double(batches))
            tokensPerSecond = (1 - weight) * tokensPerSecond + weight * rate
        }
    }

    /// Records that a batch handed out by ``next(now:)`` finished (or failed) after `duration` on a worker:
    /// its tokens are no longer in flight, and its rate feeds its lane's throughput estimate.
    public mutating func recordCompletion(of batch: Batch, duration: Duration) {
        inFlightTokens = max(0, inFlightTokens - batch.paddedTokens)
        let seconds = duration.seconds
        guard seconds > 0 else { return }
        let rate = Double(batch.paddedTokens) / seconds
        if throughput[batch.lane] == nil {
            throughput[batch.lane] = Throughput(tokensPerSecond: rate, batches: 1)
        } else {
            throughput[batch.lane]!.add(rate)
        }
    }

    /// Forgets the measured rates (the engine calls it after the first warm-up pass, whose batches pay
    /// one-off costs such as graph optimisation and would make every later estimate too slow).
    public mutating func resetThroughputEstimate() {
        throughput = [:]
    }

    /// The measured throughput of one worker on `lane`'s batches, padded tokens per second (the other lane's
    /// until the lane has its own measurement); nil before any batch completed.
    public func measuredTokensPerSecond(_ lane: Lane) -> Double? {
        throughput[lane]?.tokensPerSecond ?? throughput[lane == .bulk ? .interactive : .bulk]?.tokensPerSecond
    }

    /// The estimated time until a bulk request of `tokens` tokens would be scored, at the bulk lane's measured
    /// rate, not discounted: it waits for everything (the work in flight, both lanes' queued work), then its
    /// own. A request this estimate says cannot make its deadline would have its rows computed and then be
    /// answered 504, so it is refused before any compute. Nil before any batch completed.
    func estimatedWait(tokens: Int) -> Duration? {
        guard let rate = measuredTokensPerSecond(.bulk), rate > 0 else { return nil }
        let seconds = Double(inFlightTokens + queuedTokens + tokens) / (rate * Double(workers))
        return seconds < 1e6 ? .milliseconds(Int64(seconds * 1000)) : nil
    }

    /// The padded-token budget of the next batch of `lane`: ``BatchingConfiguration/maxBatchTokens``, except
    /// that a bulk batch is also held to what one worker computes in ``BatchingConfiguration/maxBulkBatchTime``
    /// at the measured rate (but never below a quarter of `maxBatchTokens`), so an interactive item that
    /// arrives while every worker runs bulk work waits for at most about that long.
    func batchTokenBudget(_ lane: Lane) -> Int {
        let full = configuration.maxBatchTokens
        guard lane == .bulk, configuration.maxBulkBatchTime > .zero, let rate = measuredTokensPerSecond(.bulk) else { return full }
        let fits = rate * configuration.maxBulkBatchTime.seconds
        guard fits < Double(full) else { return full }
        return max(Int(fits), full / 4)
    }

    /// The estimated time to drain the waiting tokens with all workers, clamped to 100 ms ... 60 s
    /// (1 s before any batch has completed).
    public func retryHint() -> Duration {
        guard let rate = measuredTokensPerSecond(.bulk), rate > 0 else { return .seconds(1) }
        let seconds = Double(queuedTokens) / (rate * Double(workers))
        return .milliseconds(Int64((min(max(seconds, 0.1), 60) * 1000).rounded(.up)))
    }

    /// Decides what happens next at `now` (see the type's documentation).
    public mutating func next(now: Instant) -> Decision {
        var expired: [Item] = []
        if let earliest = earliestDeadline, earliest <= now {
            expired = removeExpired(now: now)
        }
        if interactive.isEmpty && bulk.isEmpty {
            interactiveStreak = 0
            return Decision(action: isShuttingDown ? .finished : .idle, expired: expired)
        }
        let bulkFirst = !bulk.isEmpty && interactiveStreak >= configuration.bulkShare - 1
        let order: [Lane] = bulkFirst ? [.bulk, .interactive] : [.interactive, .bulk]
        var wake: Instant? = earliestDeadline
        for lane in order {
            if lane == .bulk && !isShuttingDown { expired += removeUnreachableBulkRequests(now: now) }
            guard let seed = items(lane).first else { continue }
            let due = seed.enqueuedAt + configuration.settings(for: lane).maxQueueDelay
            let plan = packs ? packedPlan(lane) : plan(lane)
            if plan.full || isShuttingDown || due <= now {
                let batch = commit(packs ? cheapestWidth(plan, lane: lane) : plan, lane: lane)
                if lane == .interactive && !bulk.isEmpty { interactiveStreak += 1 } else { interactiveStreak = 0 }
                return Decision(action: .run(batch), expired: expired)
            }
            wake = wake.map { min($0, due) } ?? due
        }
        return Decision(action: .wait(until: wake!), expired: expired)
    }

    // MARK: - Internals

    private struct Plan {
        var chosen: [Int] = []  // indices into the lane's deque
        var rows: [[Int32]] = []
        var rowOfItem: [Int] = []
        var length = 0
        var realTokens = 0
        var full = false
        /// Packed plans: where each distinct sequence goes, and the tokens used in each model row.
        var placements: [PackedLayout.Placement] = []
        var rowFill: [Int] = []
        var segmentsInRow: [Int] = []
    }

    private enum Addition { case added, overBudget, tooMuchPadding }

    /// Seeds with the lane's oldest item and fills with the closest lengths.
    private func plan(_ lane: Lane) -> Plan {
        let items = items(lane)
        let config = configuration
        let budget = batchTokenBudget(lane)
        var plan = Plan()
        var rowIndex: [[Int32]: Int] = [:]
        func add(_ i: Int) -> Addition {
            let tokens = items[i].tokens
            if let row = rowIndex[tokens] {
                plan.chosen.append(i)
                plan.rowOfItem.append(row)
                return .added
            }
            let length = max(plan.length, tokens.count)
            if !plan.rows.isEmpty {
                let padded = (plan.rows.count + 1) * length
                if padded > budget { return .overBudget }
                if Double(plan.realTokens + tokens.count) < config.minPaddingEfficiency * Double(padded) { return .tooMuchPadding }
            }
            rowIndex[tokens] = plan.rows.count
            plan.realTokens += tokens.count
            plan.rowOfItem.append(plan.rows.count)
            plan.rows.append(tokens)
            plan.chosen.append(i)
            plan.length = length
            return .added
        }
        let seed = items[items.startIndex]
        _ = add(0)
        guard items.count > 1 else {
            plan.full = config.maxBatchSize == 1
            return plan
        }
        // Bucket the other items by length (FIFO within a bucket), then walk outwards from the seed's length.
        var buckets: [Int: [Int]] = [:]
        var longest = 0
        for i in 1..<items.count {
            buckets[items[i].length, default: []].append(i)
            longest = max(longest, items[i].length)
        }
        var distance = 0
        walk: while true {
            let shorter = seed.length - distance, longer = seed.length + distance
            if shorter < 1 && longer > longest { break }
            for length in distance == 0 ? [shorter] : [shorter, longer] {
                guard let bucket = buckets[length] else { continue }
                for i in bucket {
                    if plan.chosen.count == config.maxBatchSize {
                        plan.full = true
                        break walk
                    }
                    // The token budget refused it: the batch is full, though a shorter item may still fit.
                    if add(i) == .overBudget { plan.full = true }
                }
            }
            distance += 1
        }
        if plan.chosen.count == config.maxBatchSize { plan.full = true }
        return plan
    }

    /// Takes the lane's items oldest first and places each distinct sequence first-fit into packed rows.
    private func packedPlan(_ lane: Lane) -> Plan {
        let items = items(lane)
        let capacity = configuration.packedRowTokens
        let maxRows = max(1, batchTokenBudget(lane) / capacity)
        var plan = Plan()
        var rowIndex: [[Int32]: Int] = [:]
        for i in items.indices {
            if plan.chosen.count == configuration.maxBatchSize {
                plan.full = true
                break
            }
            let tokens = items[i].tokens
            if let row = rowIndex[tokens] {
                plan.chosen.append(i)
                plan.rowOfItem.append(row)
                continue
            }
            let row: Int
            if let open = plan.rowFill.firstIndex(where: { $0 + tokens.count <= capacity }) {
                row = open
            } else if plan.rowFill.count < maxRows {
                row = plan.rowFill.count
                plan.rowFill.append(0)
                plan.segmentsInRow.append(0)
            } else {
                plan.full = true  // no room for this one; a shorter item further back may still fit
                continue
            }
            plan.placements.append(.init(row: row, segment: plan.segmentsInRow[row], offset: plan.rowFill[row]))
            plan.rowFill[row] += tokens.count
            plan.segmentsInRow[row] += 1
            rowIndex[tokens] = plan.rows.count
            plan.rowOfItem.append(plan.rows.count)
            plan.rows.append(tokens)
            plan.chosen.append(i)
            plan.realTokens += tokens.count
            plan.length = max(plan.length, plan.rowFill[row])
        }
        if plan.chosen.count == configuration.maxBatchSize { plan.full = true }
        return plan
    }

    /// The row widths tried for a packed batch: the longest sequence and every eighth of `packedRowTokens` (at
    /// least 8 tokens apart) from there up to `packedRowTokens`.
    static func candidateWidths(longest: Int, capacity: Int) -> [Int] {
        let step = max(8, capacity / 8)
        var widths = [longest]
        var width = step
        while width <= capacity {
            if width > longest { widths.append(width) }
            width += step
        }
        if capacity > longest && widths.last != capacity { widths.append(capacity) }
        return widths
    }

    /// The plan's sequences packed again, longest first, first-fit, into rows of the candidate width whose
    /// forward ``packingCost`` models as cheapest; the plan as it is when no model is set, when it holds one
    /// sequence, or when no width beats it. Narrow rows cost attention less (each token attends over its row)
    /// and may cost more padding: short chat messages gain, long ones keep wide rows. A width is taken only if
    /// its padded tokens stay within the lane's token budget (or the plan's own, when that is larger).
    private func cheapestWidth(_ plan: Plan, lane: Lane) -> Plan {
        guard let cost = packingCost, plan.rows.count > 1 else { return plan }
        let lengths = plan.rows.map(\.count)
        let order = lengths.indices.sorted { lengths[$0] != lengths[$1] ? lengths[$0] > lengths[$1] : $0 < $1 }
        let budget = max(batchTokenBudget(lane), plan.rowFill.count * plan.length)
        var best = plan
        var bestCost = cost.seconds(rows: plan.rowFill.count, width: plan.length)
        for width in Self.candidateWidths(longest: lengths.max() ?? 1, capacity: configuration.packedRowTokens) {
            var fill: [Int] = []
            var segments: [Int] = []
            var placements = [PackedLayout.Placement?](repeating: nil, count: lengths.count)
            for j in order {
                let row = fill.firstIndex { $0 + lengths[j] <= width } ?? fill.count
                if row == fill.count {
                    fill.append(0)
                    segments.append(0)
                }
                placements[j] = .init(row: row, segment: segments[row], offset: fill[row])
                fill[row] += lengths[j]
                segments[row] += 1
            }
            let length = fill.max() ?? 0
            guard fill.count * length <= budget else { continue }
            let modelled = cost.seconds(rows: fill.count, width: length)
            if modelled < bestCost {
                bestCost = modelled
                best.placements = placements.map { $0! }
                best.rowFill = fill
                best.segmentsInRow = segments
                best.length = length
            }
        }
        return best
    }

    private mutating func commit(_ plan: Plan, lane: Lane) -> Batch {
        var taken: [Item] = []
        taken.reserveCapacity(plan.chosen.count)
        let chosen = Set(plan.chosen)
        withItems(lane) { items in
            for i in plan.chosen { taken.append(items[i]) }
            var kept = Deque<Item>()
            kept.reserveCapacity(items.count - chosen.count)
            for (i, item) in items.enumerated() where !chosen.contains(i) { kept.append(item) }
            items = kept
        }
        for item in taken where (groupTokens[item.group] ?? 0) > item.length { startedGroups.insert(item.group) }
        account(removed: taken)
        // A packed plan whose rows each hold one sequence is a padded batch (row j holds sequence j, since a
        // row is opened only for a sequence that fits no earlier row); the padded forward skips the
        // block-diagonal mask, so it is the cheaper way to run it.
        let segmentsPerRow = plan.segmentsInRow.max() ?? 1
        let packing =
            packs && segmentsPerRow > 1
            ? PackedLayout(rowCount: plan.rowFill.count, rowLength: plan.length, segmentsPerRow: segmentsPerRow, placements: plan.placements)
            : nil
        let batch = Batch(lane: lane, items: taken, rows: plan.rows, rowOfItem: plan.rowOfItem, length: plan.length, packing: packing)
        statistics.batches += 1
        statistics.items += taken.count
        statistics.rows += batch.rows.count
        statistics.duplicates += taken.count - batch.rows.count
        statistics.realTokens += batch.realTokens
        statistics.paddedTokens += batch.paddedTokens
        inFlightTokens += batch.paddedTokens
        return batch
    }

    /// Removes the items whose deadline passed, except those of a bulk request already started: its rows are
    /// being computed, and dropping the rest would throw that compute away for a 504, so it is finished
    /// (admission and ``removeUnreachableBulkRequests(now:)`` keep that rare). On the bulk lane a deadline
    /// thus bounds the wait before scoring starts.
    private mutating func removeExpired(now: Instant) -> [Item] {
        var expired: [Item] = []
        var earliest: Instant?
        let started = startedGroups
        func exempt(_ item: Item) -> Bool { item.lane == .bulk && started.contains(item.group) }
        for lane in Lane.allCases {
            withItems(lane) { items in
                guard items.contains(where: { $0.deadline <= now && !exempt($0) }) else {
                    for item in items where !exempt(item) { earliest = earliest.map { min($0, item.deadline) } ?? item.deadline }
                    return
                }
                var kept = Deque<Item>()
                for item in items {
                    if exempt(item) {
                        kept.append(item)
                    } else if item.deadline <= now {
                        expired.append(item)
                    } else {
                        kept.append(item)
                        earliest = earliest.map { min($0, item.deadline) } ?? item.deadline
                    }
                }
                items = kept
            }
        }
        earliestDeadline = earliest
        account(removed: expired)
        statistics.expired += expired.count
        return expired
    }

    /// Removes the bulk requests that have not started and, at the measured rate, cannot be finished by their
    /// deadline behind the work ahead of them (in flight, the interactive lane's, and the bulk requests
    /// before them): the machine slowed down since they were admitted. Dropped now, before any of their rows
    /// is computed, they are answered 504 at no cost; started later, they would be computed and answered 504
    /// all the same.
    private mutating func removeUnreachableBulkRequests(now: Instant) -> [Item] {
        guard !bulk.isEmpty, let rate = measuredTokensPerSecond(.bulk), rate > 0 else { return [] }
        let perSecond = rate * Double(workers)
        var ahead = Double(inFlightTokens + interactiveTokens)
        var seen: Set<UInt64> = []
        var unreachable: Set<UInt64> = []
        for item in bulk where seen.insert(item.group).inserted {
            let tokens = Double(groupTokens[item.group] ?? 0)
            if !startedGroups.contains(item.group), now + .seconds((ahead + tokens) / perSecond) > item.deadline {
                unreachable.insert(item.group)
                continue
            }
            ahead += tokens
        }
        guard !unreachable.isEmpty else { return [] }
        var removed: [Item] = []
        withItems(.bulk) { items in
            var kept = Deque<Item>()
            for item in items {
                if unreachable.contains(item.group) { removed.append(item) } else { kept.append(item) }
            }
            items = kept
        }
        account(removed: removed)
        statistics.expired += removed.count
        return removed
    }

    private mutating func account(removed: [Item]) {
        for item in removed {
            let left = (groupTokens[item.group] ?? 0) - item.length
            if left > 0 {
                groupTokens[item.group] = left
            } else {
                groupTokens[item.group] = nil
                startedGroups.remove(item.group)
            }
        }
        queuedItems -= removed.count
        queuedTokens -= removed.reduce(0) { $0 + $1.length }
        interactiveTokens -= removed.reduce(0) { $0 + ($1.lane == .interactive ? $1.length : 0) }
        if queuedItems == 0 { earliestDeadline = nil }
    }

    private func items(_ lane: Lane) -> Deque<Item> {
        switch lane {
        case .interactive: interactive
        case .bulk: bulk
        }
    }

    private mutating func withItems<R>(_ lane: Lane, _ body: (inout Deque<Item>) -> R) -> R {
        switch lane {
        case .interactive: body(&interactive)
        case .bulk: body(&bulk)
        }
    }
}
