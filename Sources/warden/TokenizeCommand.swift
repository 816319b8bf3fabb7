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

    @Argument(help: "Texts to tokenize. When none are given, texts are read from standard input.")
    var texts: [String] = []
    @Flag(name: .long, help: "Print the vocabulary pieces instead of the ids.")
    var tokens = false
    @Option(name: .long, help: "Maximum sequence length, [CLS] and [SEP] included (at least 2).")
    var maxLength = WordPieceTokenizer.defaultMaxLength
    @Option(
        name: .long,
        help:
            "Directory with vocab.txt and tokenizer_config.json (default: $WARDEN_TOKENIZER, else the repository's tokenizer/ directory found from the current directory or the executable)."
    )
    var tokenizer: String?
    @Flag(name: .long, help: "Read NUL-separated texts from standard input instead of lines (texts may then contain newlines).")
    var nullData = false
    @Option(
        name: .long,
        help: "Benchmark instead of printing: encode all input texts this many times per run, single-threaded, and print the best of 5 runs (texts/s, MB/s).")
    var benchmark: Int?
    @Flag(
        name: .long,
        help: ArgumentHelp("Print the standard library's Unicode facts per scalar (input of scripts/generate/make_unicode_overrides.py).", visibility: .hidden))
    var unicodeFacts = false

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
