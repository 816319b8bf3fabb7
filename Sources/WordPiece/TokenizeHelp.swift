/// The help of `warden tokenize`'s flags, beside the tokenizer they drive.
public enum TokenizeHelp {
    public static let texts = "Texts to tokenize. When none are given, texts are read from standard input."
    public static let tokens = "Print the vocabulary pieces instead of the ids."
    public static let maxLength = "Maximum sequence length, [CLS] and [SEP] included (at least 2)."
    public static let tokenizer =
        "Directory with vocab.txt and tokenizer_config.json (default: $WARDEN_TOKENIZER, else the repository's tokenizer/ directory found from the current directory or the executable)."
    public static let nullData = "Read NUL-separated texts from standard input instead of lines (texts may then contain newlines)."
    public static let benchmark =
        "Benchmark instead of printing: encode all input texts this many times per run, single-threaded, and print the best of 5 runs (texts/s, MB/s)."
    public static let unicodeFacts = "Print the standard library's Unicode facts per scalar (input of scripts/generate/make_unicode_overrides.py)."
}
