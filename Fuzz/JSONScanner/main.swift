// libFuzzer entry point for JSONScanner (Sources/WardenGateway/JSONScanner.swift), compiled together with it
// into one module by scripts/fuzz.sh. See README.md beside this file for the properties checked.
import Foundation

/// Stops the run with a message; libFuzzer then saves the input as a crash.
func violation(_ message: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Never {
    let shown = String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription
    fatalError("JSONScanner property violated: \(message)\ninput (\(bytes.count) bytes): \(shown)")
}

/// `bytes` with every comma that is followed (after JSON white space) by `]` or `}`, outside strings,
/// removed: what the document would be without Foundation's trailing-comma leniency.
func withoutTrailingCommas(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var inString = false
    var i = 0
    while i < bytes.count {
        let c = bytes[i]
        if inString {
            if c == UInt8(ascii: "\\"), i + 1 < bytes.count {
                out.append(c)
                out.append(bytes[i + 1])
                i += 2
                continue
            }
            if c == UInt8(ascii: "\"") { inString = false }
        } else if c == UInt8(ascii: "\"") {
            inString = true
        } else if c == UInt8(ascii: ",") {
            var j = i + 1
            while j < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[j]) { j += 1 }
            if j < bytes.count, bytes[j] == UInt8(ascii: "]") || bytes[j] == UInt8(ascii: "}") {
                i += 1
                continue
            }
        }
        out.append(c)
        i += 1
    }
    return out
}

/// Whether a number token of the (valid) document `bytes` is too large for a Double.
func hasNumberOverflowingDouble(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var inString = false
    var i = 0
    while i < bytes.count {
        let c = bytes[i]
        if inString {
            if c == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if c == UInt8(ascii: "\"") { inString = false }
            i += 1
        } else if c == UInt8(ascii: "\"") {
            inString = true
            i += 1
        } else if c == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) {
            let start = i
            while i < bytes.count, "+-.eE0123456789".utf8.contains(bytes[i]) { i += 1 }
            let token = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            if let value = Double(token), !value.isFinite { return true }
        } else {
            i += 1
        }
    }
    return false
}

func validate(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<[JSONScanner.Member]?, JSONScanner.Failure> {
    Result { () throws(JSONScanner.Failure) in try JSONScanner.validate(bytes) }
}

/// The exact UTF-8 of a string, so that canonically equivalent strings are not taken for equal.
func exact(_ string: String) -> [UInt8] { Array(string.utf8) }

/// The exact UTF-8 of a string without any U+FEFF.
func withoutBOMs(_ string: String) -> [UInt8] {
    var scalars = String.UnicodeScalarView()
    scalars.append(contentsOf: string.unicodeScalars.lazy.filter { $0 != "\u{FEFF}" })
    return exact(String(scalars))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: count)

    // Any bytes, UTF-8 or not: every entry point returns or throws, never traps, and a failure's offset is
    // inside the input.
    let ours = validate(bytes)
    if case .failure(let failure) = ours, failure.offset < 0 || failure.offset > count {
        violation("failure offset \(failure.offset) outside the input", bytes)
    }
    let members = Result { () throws(JSONScanner.Failure) in try JSONScanner.members(of: bytes) }
    _ = Result { () throws(JSONScanner.Failure) in try JSONScanner.decodeString(bytes) }

    // members(of:) and validate agree: on an object, the same members or the same failure; on anything
    // else, members(of:) refuses.
    let isObject = bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "{")
    switch (isObject, ours, members) {
    case (false, _, .success):
        violation("members(of:) accepts a document that is not an object", bytes)
    case (false, _, .failure):
        break
    case (true, .success(let object), .success(let listed)):
        if object != listed { violation("members(of:) and validate list different members", bytes) }
    case (true, .failure(let a), .failure(let b)):
        if a.kind != b.kind || a.offset != b.offset || a.path != b.path {
            violation("validate and members(of:) refuse differently: \(a) / \(b)", bytes)
        }
    case (true, .success, .failure(let failure)), (true, .failure(let failure), .success):
        violation("only one of validate and members(of:) refuses: \(failure)", bytes)
    }

    // The production callers check UTF-8 first: the differential runs on valid UTF-8 only.
    guard String(validating: bytes, as: UTF8.self) != nil else { return 0 }

    // JSONSerialization reads a document whose first or second byte is NUL as UTF-16 or UTF-32, and skips a
    // UTF-8 byte order mark (it accepts the five encodings of RFC 4627). Neither is UTF-8 JSON: the scanner
    // refuses both (a NUL there is never JSON; a BOM is not JSON white space), so such inputs are compared
    // without the BOM, or not at all.
    if bytes.first == 0 || (count >= 2 && bytes[1] == 0) { return 0 }
    let hasBOM = count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
    if hasBOM, case .success = ours { violation("JSONScanner accepts a byte order mark", bytes) }
    let body = hasBOM ? UnsafeBufferPointer(rebasing: bytes[3...]) : bytes
    let foundation = try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)
    compare(validate(body), of: body, with: foundation)
    return 0
}

/// The verdicts of the scanner and of JSONSerialization on the same document agree, but for the documented
/// differences.
func compare(_ ours: Result<[JSONScanner.Member]?, JSONScanner.Failure>, of bytes: UnsafeBufferPointer<UInt8>, with foundation: Any?) {
    let count = bytes.count
    switch ours {
    case .success(let topMembers):
        guard let foundation else {
            // RFC 8259 (section 6) lets a parser limit the range of numbers: JSONSerialization refuses one
            // whose magnitude overflows a Double. The scanner checks the syntax only.
            if hasNumberOverflowingDouble(bytes) { return }
            violation("JSONScanner accepts what JSONSerialization refuses", bytes)
        }
        if let topMembers { checkMembers(topMembers, of: bytes, against: foundation) }
    case .failure(let failure):
        guard foundation != nil else { break }
        switch failure.kind {
        case .duplicateKey, .loneSurrogate, .tooDeep:
            break  // rules Foundation does not enforce (see JSONScanner's documentation)
        case .syntax:
            // Allowed only for Foundation's trailing-comma leniency: without those commas the scanner must
            // find nothing wrong with the syntax.
            let stripped = withoutTrailingCommas(bytes)
            guard stripped.count < count else {
                violation("JSONSerialization accepts what JSONScanner calls a syntax error (\(failure)), and there is no trailing comma", bytes)
            }
            let again = stripped.withUnsafeBufferPointer { validate($0) }
            if case .failure(let other) = again, other.kind == .syntax {
                violation("JSONSerialization accepts what JSONScanner calls a syntax error (\(other)) even without trailing commas", bytes)
            }
        }
    }
}

/// Each member's key is one of Foundation's keys (exactly, scalar for scalar), there are as many, each raw
/// value is a JSON document of its own, and a string value decodes to Foundation's string.
func checkMembers(_ members: [JSONScanner.Member], of bytes: UnsafeBufferPointer<UInt8>, against foundation: Any) {
    guard let dictionary = foundation as? [String: Any] else {
        violation("JSONScanner found an object, JSONSerialization a \(type(of: foundation))", bytes)
    }
    // JSONSerialization drops a U+FEFF written raw (not escaped) at the start of a string, key or value, or
    // right after an escape sequence: it takes it for a byte order mark (JSONDecoder keeps it, as the scanner
    // does). So keys and strings are compared without U+FEFF when they hold one, and two keys may collide.
    let bomKeys = members.contains { $0.key.unicodeScalars.contains("\u{FEFF}") }
    var membersWithoutBOMs: [[UInt8]: Int] = [:]
    if bomKeys { for member in members { membersWithoutBOMs[withoutBOMs(member.key), default: 0] += 1 } }
    var foundationValues: [[UInt8]: Any] = [:]
    var valuesWithoutBOMs: [[UInt8]: [Any]] = [:]
    for (key, value) in dictionary {
        foundationValues[exact(key)] = value
        valuesWithoutBOMs[withoutBOMs(key), default: []].append(value)
    }
    if bomKeys ? foundationValues.count > members.count : foundationValues.count != members.count {
        violation("\(members.count) members, JSONSerialization has \(foundationValues.count) keys", bytes)
    }
    for member in members {
        guard member.value.lowerBound >= 0, member.value.upperBound <= bytes.count, !member.value.isEmpty else {
            violation("member \(member.key.debugDescription) has the value range \(member.value)", bytes)
        }
        // The key as it is; when a U+FEFF may have been dropped, also the keys equal to it without U+FEFF (the
        // exact key may itself be the one a dropped U+FEFF collided with).
        var candidates: [Any] = foundationValues[exact(member.key)].map { [$0] } ?? []
        if bomKeys { candidates += valuesWithoutBOMs[withoutBOMs(member.key)] ?? [] }
        if candidates.isEmpty { violation("key \(member.key.debugDescription) is not one of JSONSerialization's keys", bytes) }
        let raw = UnsafeBufferPointer(rebasing: bytes[member.value])
        if case .failure(let failure) = validate(raw) {
            violation("the raw value of \(member.key.debugDescription) is not a JSON value by itself: \(failure)", bytes)
        }
        // Where two keys collided in Foundation, one of the values is gone: nothing to compare with.
        let collided = bomKeys && membersWithoutBOMs[withoutBOMs(member.key), default: 0] > 1
        if raw.first == UInt8(ascii: "\""), !collided {
            let decoded: String
            do { decoded = try JSONScanner.decodeString(raw) } catch {
                violation("decodeString refuses the string value of \(member.key.debugDescription): \(error)", bytes)
            }
            let strings = candidates.compactMap { $0 as? String }
            guard !strings.isEmpty else {
                violation("JSONSerialization's value of \(member.key.debugDescription) is not a string", bytes)
            }
            let hasBOM = decoded.unicodeScalars.contains("\u{FEFF}")
            if !strings.contains(where: { hasBOM ? withoutBOMs(decoded) == withoutBOMs($0) : exact(decoded) == exact($0) }) {
                violation("decodeString gives \(decoded.debugDescription), JSONSerialization \(strings.map(\.debugDescription))", bytes)
            }
        }
    }
}
