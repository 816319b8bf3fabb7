import Testing
import WordPiece

/// platform-v1 and platform-v2 must reproduce scripts/warden_tools/warden_text.py exactly
/// (golden written by scripts/generate/make_normalization_golden.py).
@Suite struct NormalizationTests {
    struct Case: Decodable {
        var raw: String
        var normalized: String
        var normalized_v2: String
    }

    static func cases() throws -> [Case] { try Fixture.jsonLines(Fixture.normalizationGoldenURL, as: Case.self) }

    @Test func matchesThePythonReference() throws {
        let cases = try Self.cases()
        #expect(cases.count > 1000)
        let failures = cases.filter { normalizeText($0.raw, .platformV1) != $0.normalized }
        #expect(
            failures.isEmpty,
            "\(failures.count) of \(cases.count) differ, e.g. \(failures.prefix(3).map { ($0.raw, normalizeText($0.raw, .platformV1), $0.normalized) })")
    }

    /// Includes every entry of the generated Unicode tables, so Swift's tables match the reference's JSON.
    @Test func platformV2MatchesThePythonReference() throws {
        let cases = try Self.cases()
        #expect(cases.filter { $0.normalized_v2 != $0.normalized }.count > 500)
        let failures = cases.filter { normalizeText($0.raw, .platformV2) != $0.normalized_v2 }
        #expect(
            failures.isEmpty,
            "\(failures.count) of \(cases.count) differ, e.g. \(failures.prefix(3).map { ($0.raw, normalizeText($0.raw, .platformV2), $0.normalized_v2) })")
    }

    @Test func noneLeavesTextAlone() {
        #expect(normalizeText("RT @a: &amp; http://x", .none) == "RT @a: &amp; http://x")
        #expect(TextNormalization(rawValue: "platform-v1") == .platformV1)
        #expect(TextNormalization(rawValue: "platform-v2") == .platformV2)
        #expect(TextNormalization.knownNames == "none, platform-v1, platform-v2")
    }

    @Test func examples() {
        #expect(normalizeText("RT @bob: see https://t.co/x &amp; @carol", .platformV1) == " see http & @user")
        #expect(normalizeText("RT @bob: see https://t.co/x &amp; @carol", .platformV2) == " see http & @user")
        #expect(
            normalizeText("i d i o t, \u{456}d\u{456}\u{43E}t, id\u{200B}iot, 1d10t, stuuupid", .platformV2)
                == "idiot, idiot, idiot, 1diot, stupid")
        #expect(normalizeText("2024 $5 b4 5th mp3 @user U.S.A.", .platformV2) == "2024 $5 b4 5th mp3 @user USA.")
    }
}
