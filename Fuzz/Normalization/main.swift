// libFuzzer entry point for the text normalisations platform-v1 and platform-v2
// (Sources/WordPiece/TextNormalization.swift, PlatformV1.swift, PlatformV2.swift and PlatformV2Tables.swift),
// compiled together with the WordPiece sources into one module by scripts/fuzz.sh. See README.md beside this
// file for the properties checked.

func violation(_ message: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Never {
    let shown = String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription
    fatalError("normalisation property violated: \(message)\ninput (\(bytes.count) bytes): \(shown)")
}

/// The rules work on UTF-8 bytes: the output of each must still be valid UTF-8, or the final
/// `String(decoding:)` would silently put U+FFFD in the text the model sees.
func checkUTF8(_ stage: [UInt8], after rule: String, _ input: UnsafeBufferPointer<UInt8>) {
    if String(validating: stage, as: UTF8.self) == nil { violation("\(rule) produced invalid UTF-8", input) }
}

/// platform-v1 rule by rule, as `normalizeText(_:.platformV1)` runs them, each output checked.
func platformV1Stages(_ text: String, _ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    var bytes = Array(text.utf8)
    if bytes.contains(UInt8(ascii: "&")) {
        bytes = PlatformV1.decodeEntities(bytes)
        checkUTF8(bytes, after: "v1 entities", input)
    }
    bytes = PlatformV1.replaceURLs(bytes)
    checkUTF8(bytes, after: "v1 URLs", input)
    if bytes.contains(UInt8(ascii: "@")) {
        bytes = PlatformV1.removeRetweetMarkers(bytes)
        checkUTF8(bytes, after: "v1 retweet markers", input)
        bytes = PlatformV1.replaceHandles(bytes)
        checkUTF8(bytes, after: "v1 handles", input)
    }
    return bytes
}

/// platform-v2 rule by rule, as `PlatformV2.normalize` runs them, each output checked.
func platformV2Stages(_ text: String, _ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    var bytes = Array(text.utf8)
    if bytes.contains(UInt8(ascii: "&")) {
        bytes = PlatformV1.decodeEntities(bytes)
        checkUTF8(bytes, after: "v2 entities", input)
    }
    if bytes.contains(where: { $0 >= 0x80 }) {
        bytes = PlatformV2.foldScalars(bytes)
        checkUTF8(bytes, after: "v2 invisible/homoglyph folds", input)
    }
    bytes = PlatformV1.replaceURLs(bytes)
    checkUTF8(bytes, after: "v2 URLs", input)
    PlatformV2.foldLeet(&bytes)
    checkUTF8(bytes, after: "v2 leetspeak", input)
    if bytes.contains(UInt8(ascii: "@")) {
        bytes = PlatformV1.removeRetweetMarkers(bytes)
        checkUTF8(bytes, after: "v2 retweet markers", input)
        bytes = PlatformV1.replaceHandles(bytes)
        checkUTF8(bytes, after: "v2 handles", input)
    }
    bytes = PlatformV2.joinSpacedLetters(bytes)
    checkUTF8(bytes, after: "v2 spaced letters", input)
    bytes = PlatformV2.collapseStretchedLetters(bytes)
    checkUTF8(bytes, after: "v2 stretched letters", input)
    return bytes
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: count)
    // normalizeText takes a String: its callers decode the request or record with decodeUTF8 first and
    // refuse what is not UTF-8, so only valid text reaches it.
    guard let text = try? WordPieceTokenizer.decodeUTF8(bytes) else { return 0 }

    if normalizeText(text, .none) != text { violation("'none' changed the text", bytes) }

    let v1 = normalizeText(text, .platformV1)
    if Array(v1.utf8) != platformV1Stages(text, bytes) { violation("platform-v1 differs from its rules run one by one", bytes) }

    let v2 = normalizeText(text, .platformV2)
    if Array(v2.utf8) != platformV2Stages(text, bytes) { violation("platform-v2 differs from its rules run one by one", bytes) }

    // What the folds write is ASCII and runs after them only add ASCII: no invisible scalar and no scalar of
    // the fold table is left in platform-v2's output.
    for scalar in v2.unicodeScalars where scalar.value >= 0x80 {
        if PlatformV2.isInvisible(scalar.value) {
            violation("platform-v2 left the invisible scalar U+\(String(scalar.value, radix: 16, uppercase: true))", bytes)
        }
        if PlatformV2.fold(scalar.value) != nil {
            violation("platform-v2 left the foldable scalar U+\(String(scalar.value, radix: 16, uppercase: true))", bytes)
        }
    }

    for normalization in [TextNormalization.platformV1, .platformV2] { checkOcclusionUnits(text, normalization, bytes) }
    return 0
}

/// The explanation units of `text` (`OcclusionUnits`): in order, not overlapping, each the original text of
/// its span (String indices and UTF-16 offsets alike), separated by ASCII whitespace only; grouping keeps
/// the bound and the text; removing a unit leaves the rest.
func checkOcclusionUnits(_ text: String, _ normalization: TextNormalization, _ input: UnsafeBufferPointer<UInt8>) {
    let units = OcclusionUnits.units(of: text, normalization: normalization)
    let utf16 = Array(text.utf16)
    var covered = 0
    for unit in units {
        guard unit.utf16.lowerBound >= covered, unit.utf16.upperBound <= utf16.count, !unit.utf16.isEmpty else {
            violation("\(normalization) unit \(unit.utf16) out of order or bounds (text of \(utf16.count) UTF-16 units)", input)
        }
        if String(text[unit.range]) != unit.text || String(decoding: utf16[unit.utf16], as: UTF16.self) != unit.text {
            violation("\(normalization) unit \(unit.utf16) is not its text \(unit.text.debugDescription)", input)
        }
        let gap = String(decoding: utf16[covered..<unit.utf16.lowerBound], as: UTF16.self)
        if !gap.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.isWhitespace }) {
            violation("\(normalization): \(gap.debugDescription) is in no unit", input)
        }
        if OcclusionUnits.removing(unit, from: text).utf16.count != utf16.count - unit.utf16.count {
            violation("\(normalization): removing \(unit.utf16) did not remove exactly it", input)
        }
        covered = unit.utf16.upperBound
    }
    let grouped = OcclusionUnits.grouped(units, of: text, atMost: 3)
    if grouped.count > 3 || grouped.first?.utf16.lowerBound != units.first?.utf16.lowerBound
        || grouped.last?.utf16.upperBound != units.last?.utf16.upperBound
    {
        violation("\(normalization): grouping into 3 runs gave \(grouped.count) runs or moved the ends", input)
    }
}
