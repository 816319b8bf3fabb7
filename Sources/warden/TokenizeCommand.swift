import ArgumentParser
import Foundation
import WordPiece

/// `warden tokenize`: prints the token ids (or pieces) of texts, as the server would encode them.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the WordPiece ids of texts, one line per text, [CLS] and [SEP] included.",
        discussion: """
            Texts come from the arguments or, when there are none, from standard input (one per line, \
            or NUL-separated with --null-data). Input must be UTF-8: a line that is not is reported on \
            standard error, an empty line is printed in its place, and the command exits with status 1.
            """)

    @Argument(help: ArgumentHelp(TokenizeHelp.texts)) var texts: [String] = []
    @Flag(name: .long, help: ArgumentHelp(TokenizeHelp.tokens)) var tokens = false
    @Option(name: .long, help: ArgumentHelp(TokenizeHelp.maxLength)) var maxLength = WordPieceTokenizer.defaultMaxLength
    @Option(name: .long, help: ArgumentHelp(TokenizeHelp.tokenizer)) var tokenizer: String?
    @Flag(name: .long, help: ArgumentHelp(TokenizeHelp.nullData)) var nullData = false
    @Option(name: .long, help: ArgumentHelp(TokenizeHelp.benchmark)) var benchmark: Int?
    @Flag(name: .long, help: ArgumentHelp(TokenizeHelp.unicodeFacts, visibility: .hidden)) var unicodeFacts = false

    func validate() throws {
        if maxLength < 2 { throw ValidationError("--max-length must be at least 2 (room for [CLS] and [SEP]).") }
        if let benchmark, benchmark < 1 { throw ValidationError("--benchmark must be at least 1.") }
    }

    func run() throws {
        let wordPiece = try loadTokenizer()
        if unicodeFacts { return FileHandle.standardOutput.write(Data(WordPieceTokenizer._stdlibUnicodeFactsTable().utf8)) }
        let output = BufferedOutput()
        let line = { (text: String) in
            let ids = wordPiece.encode(text, maxLength: maxLength).ids
            return (tokens ? wordPiece.tokens(forIDs: ids) : ids.map(String.init)).joined(separator: " ")
        }
        if !texts.isEmpty { return texts.forEach { output.write(line($0)) } }
        var records = FileHandle.standardInput.readDataToEndOfFile().split(separator: nullData ? 0 : 0x0A, omittingEmptySubsequences: false)
        if records.last?.isEmpty == true { records.removeLast() }
        if let benchmark {
            let texts = try records.map { try WordPieceTokenizer.decodeUTF8($0) }
            return print(EncodeBenchmark(wordPiece, texts: texts, repeats: benchmark, maxLength: maxLength))
        }
        var failures = 0
        for (index, record) in records.enumerated() {
            do {
                output.write(line(try WordPieceTokenizer.decodeUTF8(record)))
            } catch {
                failures += 1
                output.flush()
                FileHandle.standardError.write(Data("warden tokenize: text \(index + 1): \(error.description)\n".utf8))
                output.write("")
            }
        }
        output.flush()
        if failures > 0 { throw ExitCode(1) }
    }

    /// `--tokenizer`, else `WARDEN_TOKENIZER`, else the repository's `tokenizer/` folder.
    private func loadTokenizer() throws -> WordPieceTokenizer {
        let found = ResourceLocator.find("tokenizer/vocab.txt").map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        guard let directory = tokenizer ?? Setting.resolve(nil, env: "WARDEN_TOKENIZER") ?? found else {
            throw ValidationError("No tokenizer directory found; pass --tokenizer DIR or set WARDEN_TOKENIZER.")
        }
        do { return try WordPieceTokenizer(directory: directory) } catch { throw ValidationError(error.description) }
    }
}

/// Lines to standard output, written in blocks of about 64 KiB (and whatever is left when it goes).
private final class BufferedOutput {
    private var pending = ""

    func write(_ line: String) {
        pending += line + "\n"
        if pending.utf8.count > 1 << 16 { flush() }
    }

    func flush() {
        FileHandle.standardOutput.write(Data(pending.utf8))
        pending = ""
    }

    deinit { FileHandle.standardOutput.write(Data(pending.utf8)) }
}
