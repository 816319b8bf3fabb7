// libFuzzer entry point for the WordPiece tokenizer (Sources/WordPiece), compiled together with its sources
// into one module by scripts/fuzz.sh. See README.md beside this file for the properties checked.
//
// The vocabulary is the repository's tokenizer/ directory (relative to the working directory), or the
// directory named by WARDEN_TOKENIZER.
import Foundation

func violation(_ message: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Never {
    let shown = String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription
    fatalError("WordPiece property violated: \(message)\ninput (\(bytes.count) bytes): \(shown)")
}

let tokenizer: WordPieceTokenizer = {
    let directory = ProcessInfo.processInfo.environment["WARDEN_TOKENIZER"] ?? "tokenizer"
    do { return try WordPieceTokenizer(directory: directory) } catch {
        fatalError("cannot load the tokenizer from \(directory) (run from the repository root or set WARDEN_TOKENIZER): \(error)")
    }
}()

/// The ids a user's text must never produce between `[CLS]` and `[SEP]`: typed special tokens are neutralised.
let structuralIDs: Set<Int32> = {
    var ids: Set<Int32> = [tokenizer.clsID, tokenizer.sepID, tokenizer.padID]
    if let mask = tokenizer.maskID { ids.insert(mask) }
    return ids
}()

/// Maximum lengths tried for every text: the smallest allowed, a few small ones that truncate most texts,
/// the model's length.
let maxLengths = [2, 3, 4, 16, 128, 512]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: count)

    // The callers (HTTP handlers, file readers, `warden tokenize`) decode with decodeUTF8 and refuse what
    // fails, so the tokenizer only ever sees valid text. The validator must agree with the standard library,
    // and its offset must point at the first ill-formed sequence.
    let stdlib = String(validating: bytes, as: UTF8.self)
    let text: String
    do {
        text = try WordPieceTokenizer.decodeUTF8(bytes)
    } catch {
        if stdlib != nil { violation("decodeUTF8 refuses valid UTF-8 (offset \(error.byteOffset))", bytes) }
        let offset = error.byteOffset
        guard offset >= 0, offset < count else { violation("invalid UTF-8 offset \(offset) outside the input", bytes) }
        if String(validating: UnsafeBufferPointer(rebasing: bytes[..<offset]), as: UTF8.self) == nil {
            violation("the bytes before the reported offset \(offset) are not valid UTF-8", bytes)
        }
        for length in 1...min(4, count - offset)
        where String(validating: UnsafeBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self) != nil {
            violation("the sequence at the reported offset \(offset) is valid UTF-8", bytes)
        }
        if WordPieceTokenizer.firstInvalidUTF8Offset(in: bytes) != offset {
            violation("firstInvalidUTF8Offset and decodeUTF8 disagree", bytes)
        }
        return 0
    }
    guard let stdlib, Array(stdlib.utf8) == Array(text.utf8) else {
        violation("decodeUTF8 accepts what the standard library refuses, or decodes it differently", bytes)
    }

    // The whole text: every id in the vocabulary, none of them structural.
    let pieces = tokenizer.wordPieceIDs(text)
    for id in pieces {
        if id < 0 || Int(id) >= tokenizer.vocabularySize { violation("id \(id) outside the vocabulary", bytes) }
        if structuralIDs.contains(id) { violation("the text produced the special id \(id)", bytes) }
    }

    // encode: [CLS] + the first maxLength - 2 pieces + [SEP], truncated exactly when pieces were dropped.
    for maxLength in maxLengths {
        let encoding = tokenizer.encode(text, maxLength: maxLength)
        let ids = encoding.ids
        guard ids.count >= 2, ids.count <= maxLength else { violation("encode(maxLength: \(maxLength)) gave \(ids.count) ids", bytes) }
        guard ids.first == tokenizer.clsID, ids.last == tokenizer.sepID else {
            violation("encode(maxLength: \(maxLength)) does not start with [CLS] and end with [SEP]", bytes)
        }
        if !ids[1..<ids.count - 1].elementsEqual(pieces.prefix(maxLength - 2)) {
            violation("encode(maxLength: \(maxLength)) is not [CLS] + the first pieces of wordPieceIDs + [SEP]", bytes)
        }
        if encoding.truncated != (pieces.count > maxLength - 2) {
            violation("encode(maxLength: \(maxLength)).truncated is \(encoding.truncated) for \(pieces.count) pieces", bytes)
        }
    }

    // The words of basic tokenization are non-empty and hold no white space.
    for word in tokenizer.basicTokens(text) {
        if word.isEmpty || word.unicodeScalars.contains(where: { $0.properties.isWhitespace }) {
            violation("basic token \(word.debugDescription)", bytes)
        }
    }
    // The pieces map back to vocabulary strings.
    if tokenizer.tokens(forIDs: pieces).count != pieces.count { violation("tokens(forIDs:) lost pieces", bytes) }
    return 0
}
