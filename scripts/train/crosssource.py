"""Cross-source evaluation: leave one platform out, train a short run on the rest, score the platform it never saw.

Every label with two or more sources is measured on text from a platform the model was not trained on. The
sources are grouped by platform (FOLDS); each fold trains a fresh model on the training split of every other
source (synthetic rows made from a held-out source's rows are left out too) with the same short schedule for
every arm, then scores all rows of the held-out sources (at most --eval-cap per source) and of `surge`, which is
never trained on. The folds' predictions are saved (WORK_DIR/crosssource/*.npz), so thresholds and calibration can
be studied without retraining; the figures go to WORK_DIR/crosssource.json, which post_train.py reads into the
run's results and card.py renders.

Arms (same schedule, same folds):
  v3                   the shipped recipe (spec.toml);
  offensive_positive   Davidson's `offensive` tweets as `harassment` positives (how v2's `toxic` learned it);
  v2_data              only the sources v2 was trained on (the new sources left out);
  v3@25, v3@50         the shipped recipe on 25 % / 50 % of the training rows (the learning curve).
The shipped v2 model is scored on the same held-out rows (it saw some of them in training: the card says which).

    PYTHONPATH=scripts HF_HUB_OFFLINE=1 .venv-train/bin/python -m train.crosssource --arms v3,offensive_positive,v2_data
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time

import numpy as np
import torch

from train.bert_encoder import ModerationModel, load_bert
from train.common import encode_texts, log, predict, raw_text
from train.fit import train
from train.metrics import ev
from train.spec import CANDIDATES, IDX
from train.splits import load_data
from warden_tools.paths import DEFAULT_MODEL, add_data_argument
from warden_tools.tokenizer_reference import base_model_dir
from warden_tools.warden_text import NORMALIZERS

FOLDS = {
    "tweets": ["davidson", "implicit"],
    "Reddit and Gab": ["edos", "misogyny", "toxichat"],
    "news comments": ["civil"],
    "chat with bots": ["convabuse"],
    "video comments": ["ethos"],
    "written statements": ["toxigen", "hatemoji"],
}
EVAL_ONLY = ["surge"]
V2_SOURCES = {"davidson", "convabuse", "sms", "edos", "hatemoji", "ailuminate", "sst", "xstest"}
MEASURED = ["harassment", "hate", "harassment/threatening", "hate/threatening", "violence"]
ALIASES = {"toxic": "harassment"}  # an older model's label name -> the label it is now


def arm_rows(train_rows, arm, held_out, rng):
    """The training rows of one arm of one fold."""
    base, _, frac = arm.partition("@")
    out = []
    for e in train_rows:
        src = e["source"]
        if src in held_out:
            continue
        if src == "synthetic" and e.get("from_id") and e["from_id"].split(":")[0] in held_out:
            continue
        if base == "v2_data" and src not in V2_SOURCES and src != "synthetic":
            continue
        if base == "offensive_positive" and src == "davidson" and e["strat"] == "offensive":
            e = dict(e, y=list(e["y"]), w=list(e["w"]))
            e["y"][IDX["harassment"]], e["w"][IDX["harassment"]] = 1.0, 1.0
        out.append(e)
    if frac:
        by = {}
        for e in out:
            by.setdefault(e["source"], []).append(e)
        out = [e for rows in by.values() for e in rng.sample(rows, max(1, int(len(rows) * int(frac) / 100)))]
    return out


def eval_rows(examples, sources, cap, seed):
    rng = random.Random(seed)
    out = []
    for s in sources:
        rows = [e for e in examples if e["source"] == s]
        out += rows if len(rows) <= cap else rng.sample(rows, cap)
    return out


def cell(y, p):
    from sklearn.metrics import average_precision_score, roc_auc_score
    y, p = np.asarray(y, dtype=int), np.asarray(p)
    r = dict(n=int(len(y)), positives=int(y.sum()))
    if len(y) and 0 < y.sum() < len(y) and min(y.sum(), len(y) - y.sum()) >= 5:
        r.update(roc_auc=round(float(roc_auc_score(y, p)), 4), pr_auc=round(float(average_precision_score(y, p)), 4))
    elif len(y) and y.sum() == len(y):
        r["recall_at_0.5"] = round(float((p >= 0.5).mean()), 4)  # a positives-only source
    return r


def matrix(rows, probs, labels):
    """label -> source -> metrics, over the rows a source annotates for that label; plus surge's any-abuse."""
    out = {}
    for lab in MEASURED:
        if lab not in labels:
            continue
        j, c = labels.index(lab), IDX[lab]
        per = {}
        for s in sorted({e["source"] for e in rows}):
            sel = [i for i, e in enumerate(rows) if e["source"] == s and ev(e)[c] == 1.0]
            if sel:
                per[s] = cell([rows[i]["y"][c] for i in sel], probs[sel, j])
        out[lab] = {s: m for s, m in per.items() if "roc_auc" in m or "recall_at_0.5" in m}
    sel = [i for i, e in enumerate(rows) if "any_abuse" in e]
    if sel:
        cols = [labels.index(l) for l in ("harassment", "hate") if l in labels]
        out["any abuse (max of harassment, hate)"] = {"surge": cell([rows[i]["any_abuse"] for i in sel],
                                                                    probs[np.ix_(sel, cols)].max(axis=1))}
    return out


def mean_auc(m, labels=("harassment", "hate")):
    vals = [c["roc_auc"] for lab in labels for c in m.get(lab, {}).values() if "roc_auc" in c]
    return round(float(np.mean(vals)), 4) if vals else None


def merge(dst, src):
    for lab, per in src.items():
        dst.setdefault(lab, {}).update(per)


def aggregate(entry):
    """An arm's matrix and mean over the folds it has run so far (an arm may be cut short)."""
    full, eval_only = {}, {}
    for f in entry["folds"].values():
        for lab, per in f["matrix"].items():
            for s, m in per.items():
                if s in EVAL_ONLY:  # scored by every fold's model: the mean over folds
                    eval_only.setdefault(lab, {}).setdefault(s, []).append(m)
        merge(full, f["matrix"])
    for lab, per in eval_only.items():
        for s, ms in per.items():
            full[lab][s] = dict(ms[-1], **{k: round(float(np.mean([m[k] for m in ms])), 4)
                                          for k in ("roc_auc", "pr_auc", "recall_at_0.5") if k in ms[-1]},
                                folds=len(ms))
    entry["matrix"], entry["mean_roc_auc"] = full, mean_auc(full)
    return entry


def score_model_file(path, manifest, rows, max_len):
    """An exported model (TorchScript + manifest) on rows, its columns renamed to today's labels."""
    model = torch.jit.load(path)
    seqs = encode_texts([raw_text(e) for e in rows], NORMALIZERS[manifest.get("text_normalization", "platform-v2")],
                        max_len)
    return predict(model, seqs), [ALIASES.get(l, l) for l in manifest["labels"]]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m train.crosssource", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arms", default="v3,offensive_positive,v2_data,v3@25,v3@50")
    ap.add_argument("--folds", default=",".join(FOLDS))
    ap.add_argument("--steps", type=int, default=450, help="training steps per fold (the same for every arm)")
    ap.add_argument("--eval-cap", type=int, default=2500, help="held-out rows scored per source")
    ap.add_argument("--work-dir", default="/tmp/warden-train")
    ap.add_argument("--previous-model", default=DEFAULT_MODEL, help="the shipped model to compare (its folder)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--train-max-len", type=int, default=64)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--freeze-layers", type=int, default=1)
    add_data_argument(ap)
    args = ap.parse_args(argv)
    args.freeze_embeddings, args.bf16, args.obfuscate_frac, args.val_select = True, True, None, 400
    args.max_train_minutes, args.epochs = 30.0, 1
    torch.set_num_threads(args.threads)
    split, _ = load_data(args)
    examples = split["train"] + split["val"] + split["test"]
    out_path = os.path.join(args.work_dir, "crosssource.json")
    pred_dir = os.path.join(args.work_dir, "crosssource")
    os.makedirs(pred_dir, exist_ok=True)
    res = json.load(open(out_path)) if os.path.isfile(out_path) else {}
    res.update(folds=FOLDS, eval_only=EVAL_ONLY, steps=args.steps, train_max_len=args.train_max_len,
               eval_cap=args.eval_cap, batch_size=args.batch_size)
    res.setdefault("arms", {})
    folds = args.folds.split(",")
    # the previous shipped model on every fold's held-out rows
    man_path = os.path.join(args.previous_model, "manifest.json")
    if os.path.isfile(man_path) and "previous" not in res:
        manifest = json.load(open(man_path))
        rows = eval_rows(examples, [s for f in FOLDS.values() for s in f] + EVAL_ONLY, args.eval_cap, args.seed)
        probs, labels = score_model_file(os.path.join(args.previous_model, "model.pt"), manifest, rows, args.max_len)
        prev = matrix(rows, probs, labels)
        res["previous"] = dict(version=manifest.get("version"), matrix=prev, mean_roc_auc=mean_auc(prev),
                               trained_on=sorted(V2_SOURCES), eval_cap=args.eval_cap)
        log("previous model", res["previous"]["mean_roc_auc"])
        json.dump(res, open(out_path, "w"), indent=1)
    for arm in args.arms.split(","):
        entry = res["arms"].setdefault(arm, dict(folds={}))
        for fold in folds:
            if fold in entry["folds"]:
                continue
            t0 = time.time()
            rng = random.Random(args.seed)
            rows = arm_rows(split["train"], arm, set(FOLDS[fold]), rng)
            val = [e for e in split["val"] if e["source"] not in FOLDS[fold] and e["source"] != "synthetic"]
            val = rng.sample(val, min(400, len(val)))  # the short run has one "epoch": selection is moot
            torch.manual_seed(args.seed)
            model = ModerationModel(load_bert(base_model_dir()), len(CANDIDATES))
            train(model, rows, val, args, arm="full", max_steps=args.steps, max_minutes=30.0)
            model.eval()
            ev_rows = eval_rows(examples, FOLDS[fold] + EVAL_ONLY, args.eval_cap, args.seed)
            probs = predict(model, [e["ids"] for e in ev_rows], autocast=True)
            np.savez_compressed(os.path.join(pred_dir, f"{arm}-{fold.replace(' ', '_')}.npz"), probs=probs,
                                ids=np.array([e["id"] for e in ev_rows]), labels=np.array(CANDIDATES))
            m = matrix(ev_rows, probs, CANDIDATES)
            entry["folds"][fold] = dict(matrix=m, train_rows=len(rows), seconds=round(time.time() - t0, 1))
            log(f"[{arm}] fold {fold}: mean held-out ROC-AUC {mean_auc(m)} ({time.time() - t0:.0f}s)")
            json.dump(res, open(out_path, "w"), indent=1)
            aggregate(entry)
            json.dump(res, open(out_path, "w"), indent=1)
    log("cross-source done", {a: r.get("mean_roc_auc") for a, r in res["arms"].items()})
    return res


if __name__ == "__main__":
    main()
