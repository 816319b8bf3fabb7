import Testing
import WordPiece

/// platform-v1 must reproduce scripts/warden_text.py exactly
/// (golden written by scripts/make_normalization_golden.py).
@Suite struct NormalizationTests {
    struct Case: Decodable { var raw: String; var normalized: String }

    @Test func matchesThePythonReference() throws {
        let cases = try Fixture.jsonLines(Fixture.normalizationGoldenURL, as: Case.self)
        #expect(cases.count > 1000)
        let failures = cases.filter { normalizeText($0.raw, .platformV1) != $0.normalized }
        #expect(failures.isEmpty, "\(failures.count) of \(cases.count) differ, e.g. \(failures.prefix(3).map { ($0.raw, normalizeText($0.raw, .platformV1), $0.normalized) })")
    }

    @Test func noneLeavesTextAlone() {
        #expect(normalizeText("RT @a: &amp; http://x", .none) == "RT @a: &amp; http://x")
        #expect(TextNormalization(rawValue: "platform-v1") == .platformV1)
    }

    @Test func examples() {
        #expect(normalizeText("RT @bob: see https://t.co/x &amp; @carol", .platformV1) == " see http & @user")
    }
}
