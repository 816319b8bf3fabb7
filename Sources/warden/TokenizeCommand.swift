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
    var maxLength = 256

    @Option(
        name: .long,
        help: "Directory with vocab.txt and tokenizer_config.json (default: $WARDEN_TOKENIZER, else the repository's tokenizer/ directory found from the current directory or the executable).")
    var tokenizer: String?

    @Flag(name: .long, help: "Read NUL-separated texts from standard input instead of lines (texts may then contain newlines).")
    var nullData = false

    @Option(
        name: .long,
        help: "Benchmark instead of printing: encode all input texts this many times per run, single-threaded, and print the best of 5 runs (texts/s, MB/s).")
    var benchmark: Int?

    @Flag(name: .long, help: ArgumentHelp("Print the standard library's Unicode facts per scalar (input of scripts/generate/make_unicode_overrides.py).", visibility: .hidden))
    var unicodeFacts = false

    func validate() throws {
        if maxLength < 2 { throw ValidationError("--max-length must be at least 2 (room for [CLS] and [SEP]).") }
        if let benchmark, benchmark < 1 { throw ValidationError("--benchmark must be at least 1.") }
    }

    func run() throws {
        let fromEnvironment = Setting.resolve(nil, env: "WARDEN_TOKENIZER")
        guard let directory = tokenizer ?? fromEnvironment ?? ResourceLocator.find("tokenizer/vocab.txt").map({ URL(fileURLWithPath: $0).deletingLastPathComponent().path }) else {
            throw ValidationError("No tokenizer directory found; pass --tokenizer DIR or set WARDEN_TOKENIZER.")
        }
        let wordPiece: WordPieceTokenizer
        do { wordPiece = try WordPieceTokenizer(directory: directory) } catch {
            throw ValidationError(error.description)
        }
        if unicodeFacts {
            var out = ""
            for v in UInt32(0)...0x10FFFF where Unicode.Scalar(v) != nil {
                out += String(v, radix: 16) + "\t" + WordPieceTokenizer._stdlibUnicodeFacts(v) + "\n"
            }
            FileHandle.standardOutput.write(Data(out.utf8))
            return
        }
        var output = ""
        func emit(_ text: String) {
            let encoding = wordPiece.encode(text, maxLength: maxLength)
            if tokens {
                output += wordPiece.tokens(forIDs: encoding.ids).joined(separator: " ")
            } else {
                output += encoding.ids.map(String.init).joined(separator: " ")
            }
            output += "\n"
            if output.utf8.count > 1 << 16 { flush() }
        }
        func flush() {
            FileHandle.standardOutput.write(Data(output.utf8))
            output = ""
        }
        if !texts.isEmpty {
            texts.forEach(emit)
            flush()
            return
        }
        let input = FileHandle.standardInput.readDataToEndOfFile()
        var records = input.split(separator: nullData ? 0 : 0x0A, omittingEmptySubsequences: false)
        if records.last?.isEmpty == true { records.removeLast() }
        if let benchmark {
            let texts = try records.map { try WordPieceTokenizer.decodeUTF8($0) }
            runBenchmark(wordPiece, texts: texts, repeats: benchmark)
            return
        }
        var failures = 0
        for (index, record) in records.enumerated() {
            do {
                emit(try WordPieceTokenizer.decodeUTF8(record))
            } catch {
                failures += 1
                flush()
                FileHandle.standardError.write(Data("warden tokenize: text \(index + 1): \(error.description)\n".utf8))
                output += "\n"
            }
        }
        flush()
        if failures > 0 { throw ExitCode(1) }
    }

    /// Encodes `texts` `repeats` times per run on this thread; prints the best of 5 runs.
    func runBenchmark(_ wordPiece: WordPieceTokenizer, texts: [String], repeats: Int) {
        let bytes = texts.reduce(0) { $0 + $1.utf8.count } * repeats
        var tokens = 0
        for text in texts { tokens &+= wordPiece.encode(text, maxLength: maxLength).ids.count }  // warm-up
        tokens = 0
        var best = Double.infinity
        for _ in 0..<5 {
            tokens = 0
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<repeats {
                for text in texts { tokens &+= wordPiece.encode(text, maxLength: maxLength).ids.count }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let count = texts.count * repeats
        print("warden encode (Swift, 1 thread): \(count) texts, \(String(format: "%.2f", Double(bytes) / 1e6)) MB, \(tokens) tokens, best of 5: \(String(format: "%.3f", best)) s, \(Int(Double(count) / best)) texts/s, \(String(format: "%.2f", Double(bytes) / 1e6 / best)) MB/s")
    }
}
