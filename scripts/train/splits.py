"""The examples of one run: the eight sources (moderation_data.py) plus the synthetic rows (synth_data.py), tokenized
with the base model's tokenizer and split into train / val / test."""
from __future__ import annotations

from collections import Counter

from train import moderation_data as md
from train import synth_data
from train.common import make_tokenizer


def load_data(args):
    examples, data_stats = md.load_all(args.seed, args.data)
    syn = synth_data.build(examples, md.normalizer(), seed=args.seed)
    data_stats["synthetic"] = {k: v for k, v in Counter(
        f"{e['kind']}:{e['split']}" for e in syn).items()}
    examples = examples + syn
    tok = make_tokenizer(args.max_len)
    for e, enc in zip(examples, tok.encode_batch([e["norm"] for e in examples])):
        e["ids"] = enc.ids
    split = {s: [e for e in examples if e["split"] == s] for s in ("train", "val", "test")}
    return split, data_stats
