"""Loads the three moderation datasets, maps their labels explicitly onto ["toxic", "hate", "spam"],
normalises (platform-v1), deduplicates and splits them (stratified per dataset, fixed seed).

Each example: dict(source, text (raw), norm (normalised), y [3 floats], w [3 floats: 0 = loss masked,
<1 = weak label], strat (stratification key), split).

Label mapping (w = weight of the label in the loss; w=0 means "not annotated", masked):
  davidson (tweets, hate/offensive/neither):
      toxic = class in {hate, offensive}                      w=1
      hate  = class == hate                                   w=1
      spam  = not annotated                                   w=0
  convabuse (user turns to chatbots, abusive/not_abusive + abuse types):
      toxic = label == abusive  (majority of annotators)      w=1; 50/50 ties dropped
      hate  = 1 if abusive and >= half of the abusive voters ticked racist/homophobic/transphobic/ableist,
              0 if not abusive, or abusive without any identity type
              masked (w=0) if abusive and sexist (>= half) but not one of the above: a gendered insult at
              a bot persona is not clearly an "attack on a protected group" in the Davidson sense
      spam  = 0 (users typing to a bot are not advertising)   w=WEAK (weak negative, training only)
  sms (spam/ham):
      spam  = label == spam                                   w=1
      toxic = 0, hate = 0                                     w=WEAK (weak negatives, training only:
              the corpus is curated private SMS; the labels do not annotate abuse, so evaluation of
              toxic/hate never uses SMS rows as ground truth; SMS is reported as a false-positive check)

The datasets are read from DIR/<dataset>/data.csv. DIR defaults to $WARDEN_DATA, else data/ at the
repository root (a folder or a symlink you make); scripts/train_model.py passes its --data DIR. Run alone,
it prints the split statistics:

    .venv-train/bin/python scripts/moderation_data.py [--data DIR]
"""
from __future__ import annotations

import csv
import hashlib
import os
import sys
from collections import Counter, defaultdict
from typing import Dict, List

from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from warden_text import normalize_platform_v1  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_ROOT = os.environ.get("WARDEN_DATA") or os.path.join(REPO, "data")
WEAK = 0.3
SOURCES = ["davidson", "convabuse", "sms"]
IDENTITY_TYPES = ["racist", "homophobic", "transphobic", "ableist"]


def dedupe_key(norm: str) -> str:
    """Texts that the (uncased) tokenizer would see identically collapse to one key."""
    return " ".join(norm.lower().split())


def check_data_dir(path: str) -> None:
    """Exits with one line naming the flag when the data folder is missing."""
    if not os.path.isdir(path):
        sys.exit(f"error: data folder {path} not found; pass --data DIR (or set WARDEN_DATA) pointing at the datasets")


def _read(name: str, data_root: str) -> List[Dict[str, str]]:
    with open(os.path.join(data_root, name, "data.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _group(rows, label_of):
    """Group rows by dedupe key; keep the first raw text; majority label; drop label ties."""
    groups = defaultdict(list)
    order = []
    for r in rows:
        norm = normalize_platform_v1(r["text"])
        k = dedupe_key(norm)
        if not k:
            continue
        if k not in groups:
            order.append(k)
        groups[k].append((r, norm))
    out, conflicts = [], 0
    for k in order:
        items = groups[k]
        labels = Counter(label_of(r) for r, _ in items)
        top = labels.most_common()
        if len(top) > 1:
            conflicts += 1
            if top[0][1] == top[1][1]:
                continue
        lab = top[0][0]
        r, norm = next((r, n) for r, n in items if label_of(r) == lab)
        out.append((k, r, norm, lab))
    return out, conflicts


def load_davidson(data_root: str = DATA_ROOT):
    rows = _read("davidson-hate-offensive", data_root)
    grouped, conflicts = _group(rows, lambda r: r["label"])
    ex = []
    for k, r, norm, lab in grouped:
        ex.append(dict(source="davidson", key=k, text=r["text"], norm=norm,
                       y=[float(lab in ("hate", "offensive")), float(lab == "hate"), 0.0],
                       w=[1.0, 1.0, 0.0], strat=lab))
    return ex, dict(rows=len(rows), kept=len(ex), conflicting_keys=conflicts)


def load_convabuse(data_root: str = DATA_ROOT):
    rows = _read("convabuse", data_root)
    n_rows = len(rows)
    ties = sum(1 for r in rows if r["is_tie"] == "1")
    rows = [r for r in rows if r["is_tie"] != "1"]

    def lab(r):
        if r["label"] != "abusive":
            return "none"
        votes = max(int(r["abusive_votes"]), 1)
        if any(int(r[f"votes_{t}"]) * 2 >= votes for t in IDENTITY_TYPES):
            return "identity"
        if int(r["votes_sexist"]) * 2 >= votes:
            return "sexist"
        return "other"

    grouped, conflicts = _group(rows, lab)
    ex = []
    for k, r, norm, l in grouped:
        toxic = float(l != "none")
        hate = float(l == "identity")
        hate_w = 0.0 if l == "sexist" else 1.0
        ex.append(dict(source="convabuse", key=k, text=r["text"], norm=norm,
                       y=[toxic, hate, 0.0], w=[1.0, hate_w, WEAK],
                       strat="abusive" if toxic else "not_abusive"))
    return ex, dict(rows=n_rows, ties_dropped=ties, kept=len(ex), conflicting_keys=conflicts,
                    hate_pos=sum(e["y"][1] for e in ex), hate_masked=sum(e["w"][1] == 0 for e in ex))


def load_sms(data_root: str = DATA_ROOT):
    rows = _read("sms-spam-collection", data_root)
    grouped, conflicts = _group(rows, lambda r: r["label"])
    ex = []
    for k, r, norm, lab in grouped:
        ex.append(dict(source="sms", key=k, text=r["text"], norm=norm,
                       y=[0.0, 0.0, float(lab == "spam")], w=[WEAK, WEAK, 1.0], strat=lab))
    return ex, dict(rows=len(rows), kept=len(ex), conflicting_keys=conflicts)


def split_examples(examples, seed: int, val_frac=0.15, test_frac=0.15):
    idx = list(range(len(examples)))
    strat = [e["strat"] for e in examples]
    trval, test = train_test_split(idx, test_size=test_frac, random_state=seed, stratify=strat)
    strat2 = [strat[i] for i in trval]
    train, val = train_test_split(trval, test_size=val_frac / (1 - test_frac), random_state=seed, stratify=strat2)
    for name, ids in (("train", train), ("val", val), ("test", test)):
        for i in ids:
            examples[i]["split"] = name


def load_all(seed: int = 13, data_root: str = DATA_ROOT):
    """Returns (examples, stats). Cross-source duplicates: a val/test example whose key is in another
    source's train split is dropped (no leakage across sources)."""
    check_data_dir(data_root)
    all_ex, stats = [], {}
    for name, fn in (("davidson", load_davidson), ("convabuse", load_convabuse), ("sms", load_sms)):
        ex, st = fn(data_root)
        split_examples(ex, seed)
        st["splits"] = dict(Counter(e["split"] for e in ex))
        stats[name] = st
        all_ex.extend(ex)
    train_keys = defaultdict(set)
    for e in all_ex:
        if e["split"] == "train":
            train_keys[e["key"]].add(e["source"])
    kept, dropped = [], 0
    for e in all_ex:
        if e["split"] != "train" and (train_keys.get(e["key"], set()) - {e["source"]}):
            dropped += 1
            continue
        kept.append(e)
    stats["cross_source_eval_duplicates_dropped"] = dropped
    for e in kept:
        e["id"] = e["source"] + ":" + hashlib.sha1(e["key"].encode()).hexdigest()[:12]
    return kept, stats


if __name__ == "__main__":
    import argparse
    import json
    ap = argparse.ArgumentParser(description="Prints the split statistics of the moderation datasets.")
    ap.add_argument("--data", default=DATA_ROOT, metavar="DIR",
                    help="folder holding <dataset>/data.csv (default: $WARDEN_DATA, else data/ at the repository root)")
    ex, st = load_all(data_root=ap.parse_args().data)
    print(json.dumps(st, indent=1))
    for s in SOURCES:
        for sp in ("train", "val", "test"):
            sub = [e for e in ex if e["source"] == s and e["split"] == sp]
            pos = [sum(e["y"][j] * (e["w"][j] == 1) for e in sub) for j in range(3)]
            print(s, sp, len(sub), "pos(toxic,hate,spam)=", pos)
