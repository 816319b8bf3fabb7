#!/usr/bin/env python3
"""Full-corpus parity: every text of DIR/<dataset>/data.csv (--data DIR), and of the peer services kit's
chat corpus (--messages FILE) when present, encoded by Warden's `tokenize` command and by Hugging Face
`tokenizers` (the package's tokenizer.json, offline); prints the mismatch count and the first differences.
Exit status 1 on a mismatch.

Texts are sent NUL-separated (`--null-data`), so embedded newlines survive. Texts containing a
special-token literal ([CLS] [SEP] [PAD] [MASK] [UNK]) are compared with the reference minus its added
tokens (Warden neutralises such literals); they are counted separately.

    PYTHONPATH=scripts .venv-tok/bin/python -m eval.tokenizer_parity [--data DIR] [--messages FILE]
        [--cmd ".build/release/warden tokenize"] [--max-length N]

--data defaults to the moderation datasets folder (set WARDEN_DATA). --messages defaults to
peers/messages.txt at the repository root, which is skipped when missing (a given FILE must exist).
"""
import argparse
import os
import shlex
import subprocess
import sys

from warden_tools.paths import PEERS_MESSAGES, TOKENIZER_DIR, add_data_argument, build_products, check_data_dir, warden_binary
from warden_tools.tokenizer_reference import DATASETS, dataset_texts, has_special_literal, load_references


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cmd", default=shlex.quote(warden_binary() or build_products()[0]) + " tokenize",
                    help="the tokenize command to test (default: `warden tokenize` of $WARDEN_BINARY, else "
                         ".build/release, else .build/debug)")
    ap.add_argument("--max-length", type=int, default=1_000_000, help="truncation, [CLS]/[SEP] included (default: none)")
    add_data_argument(ap)
    ap.add_argument("--messages", metavar="FILE",
                    help="more texts, one per line (default: peers/messages.txt at the repository root, if present)")
    a = ap.parse_args()
    check_data_dir(a.data)
    messages = a.messages or PEERS_MESSAGES
    if a.messages and not os.path.isfile(a.messages):
        sys.exit(f"error: messages file {a.messages} not found; pass --messages FILE with an existing file")
    items = []
    for name in DATASETS:
        items += [(name, t) for t in dataset_texts(name, a.data)]
    if os.path.exists(messages):
        items += [("messages.txt", t) for t in open(messages, encoding="utf-8").read().split("\n") if t]
    texts = [t for _, t in items]
    assert not any("\0" in t for t in texts), "a text contains NUL; it cannot be sent NUL-separated"
    hf, neutral = load_references()
    for t in (hf, neutral):
        t.enable_truncation(max_length=a.max_length)
    expected = [e.ids for e in neutral.encode_batch(texts)]
    reference = [e.ids for e in hf.encode_batch(texts)]
    cmd = shlex.split(a.cmd) + ["--null-data", "--max-length", str(a.max_length), "--tokenizer", TOKENIZER_DIR]
    out = subprocess.run(cmd, input="\0".join(texts).encode("utf-8") + b"\0", stdout=subprocess.PIPE, check=True).stdout
    got = [[int(x) for x in line.split()] for line in out.decode().split("\n")[:-1]]
    assert len(got) == len(texts), (len(got), len(texts))
    mismatches = [i for i in range(len(texts)) if got[i] != expected[i]]
    literal = [i for i in range(len(texts)) if expected[i] != reference[i]]
    assert all(has_special_literal(texts[i]) for i in literal)
    per_source = {}
    for s, _ in items:
        per_source[s] = per_source.get(s, 0) + 1
    print(f"texts: {len(texts)} ({', '.join(f'{k}: {v}' for k, v in per_source.items())}); max length {a.max_length}")
    print(f"mismatches: {len(mismatches)}")
    print(f"texts with special-token literals where the reference itself differs (Warden neutralises them): {len(literal)}")
    for i in mismatches[:10]:
        print(f"  {items[i][0]}: {texts[i][:100]!r}\n    warden: {got[i][:40]}\n    hf:     {expected[i][:40]}")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
