/// An immutable open-addressing hash table from UTF-8 byte strings to ids.
///
/// Lookups take a byte slice and its precomputed hash (``VocabularyTable/hashStep(_:_:)`` folded over
/// the bytes), so the tokenizer can hash every prefix of a word in one forward pass and probe
/// without creating a `String` per candidate piece.
struct VocabularyTable: Sendable {
    /// All keys, back to back.
    private let bytes: [UInt8]
    /// Per entry: start offset in `bytes`, length, id, full hash.
    private let starts: [Int32]
    private let lengths: [Int32]
    private let ids: [Int32]
    private let hashes: [UInt64]
    /// Slot -> entry index, or -1 when empty. Capacity is a power of two, at most half full.
    private let slots: [Int32]
    private let mask: Int
    /// Length in bytes of the longest key (a candidate longer than this cannot match).
    let maxKeyLength: Int

    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325

    /// FNV-1a style step with an extra multiply-xorshift finaliser applied at lookup time.
    @inline(__always)
    static func hashStep(_ h: UInt64, _ byte: UInt8) -> UInt64 {
        (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    @inline(__always)
    static func finalize(_ h: UInt64) -> UInt64 {
        var x = h
        x ^= x >> 29
        x &*= 0xbf58_476d_1ce4_e5b9
        x ^= x >> 32
        return x
    }

    static func hash<C: Collection>(_ key: C) -> UInt64 where C.Element == UInt8 {
        var h = seed
        for b in key { h = hashStep(h, b) }
        return h
    }

    /// Builds the table; when a key repeats, the first id wins.
    init(entries: [(key: [UInt8], id: Int32)]) {
        var bytes: [UInt8] = []
        var starts: [Int32] = [], lengths: [Int32] = [], ids: [Int32] = [], hashes: [UInt64] = []
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        var maxKeyLength = 0
        for (key, id) in entries {
            let h = Self.hash(key)
            var slot = Int(truncatingIfNeeded: Self.finalize(h)) & mask
            var duplicate = false
            while slots[slot] >= 0 {
                let e = Int(slots[slot])
                if hashes[e] == h && Array(bytes[Int(starts[e])..<Int(starts[e]) + Int(lengths[e])]) == key {
                    duplicate = true
                    break
                }
                slot = (slot + 1) & mask
            }
            if duplicate { continue }
            slots[slot] = Int32(ids.count)
            starts.append(Int32(bytes.count))
            lengths.append(Int32(key.count))
            ids.append(id)
            hashes.append(h)
            bytes.append(contentsOf: key)
            maxKeyLength = max(maxKeyLength, key.count)
        }
        self.bytes = bytes
        self.starts = starts
        self.lengths = lengths
        self.ids = ids
        self.hashes = hashes
        self.slots = slots
        self.mask = mask
        self.maxKeyLength = maxKeyLength
    }

    /// Runs `body` with a borrowed, pointer-based view for the hot loop.
    @inline(__always)
    func withLookup<R>(_ body: (Lookup) -> R) -> R {
        bytes.withUnsafeBufferPointer { b in
            starts.withUnsafeBufferPointer { s in
                lengths.withUnsafeBufferPointer { l in
                    ids.withUnsafeBufferPointer { i in
                        hashes.withUnsafeBufferPointer { h in
                            slots.withUnsafeBufferPointer { sl in
                                body(
                                    Lookup(
                                        bytes: b, starts: s, lengths: l, ids: i, hashes: h, slots: sl, mask: mask,
                                        maxKeyLength: maxKeyLength))
                            }
                        }
                    }
                }
            }
        }
    }

    func id<C: Collection>(for key: C) -> Int32? where C.Element == UInt8 {
        let k = Array(key)
        if k.isEmpty { return nil }
        return withLookup { lookup in
            k.withUnsafeBufferPointer { p in lookup.find(p.baseAddress!, count: p.count, hash: Self.hash(k)) }
        }
    }

    struct Lookup {
        let bytes: UnsafeBufferPointer<UInt8>
        let starts: UnsafeBufferPointer<Int32>
        let lengths: UnsafeBufferPointer<Int32>
        let ids: UnsafeBufferPointer<Int32>
        let hashes: UnsafeBufferPointer<UInt64>
        let slots: UnsafeBufferPointer<Int32>
        let mask: Int
        let maxKeyLength: Int

        /// The id of `key[0..<count]` whose unfinalised hash is `hash`, or nil.
        @inline(__always)
        func find(_ key: UnsafePointer<UInt8>, count: Int, hash: UInt64) -> Int32? {
            var slot = Int(truncatingIfNeeded: VocabularyTable.finalize(hash)) & mask
            while true {
                let e = Int(slots[slot])
                if e < 0 { return nil }
                if hashes[e] == hash && Int(lengths[e]) == count {
                    let base = bytes.baseAddress! + Int(starts[e])
                    var i = 0
                    while i < count && base[i] == key[i] { i += 1 }
                    if i == count { return ids[e] }
                }
                slot = (slot + 1) & mask
            }
        }
    }
}
