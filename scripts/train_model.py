#!/usr/bin/env python3
"""Trains, evaluates, exports and ships Warden's default moderation model v2 (models/minilm-moderation).

Pipeline (one command, CPU only, < 1 hour on the 2-core dev machine):
  1. encoder parity: plain-PyTorch BERT (scripts/bert_encoder.py) vs transformers.BertModel;
  2. data: scripts/moderation_data.py (8 sources, explicit label policy, loss masks, hierarchy ORed,
     platform normalisation, dedupe before splitting) + scripts/synth_data.py (counter-speech, negation,
     reclaimed use, profanity, identity mentions built from the data's own rows);
  3. fine-tune all candidate labels: masked multi-label BCE, per-source quotas per epoch, obfuscation
     augmentation (scripts/obfuscation.py) on a fraction of rows, bf16 autocast where the CPU has
     AVX-512 BF16 / AMX, a hard wall-clock cap on the training loop (--max-train-minutes) with the LR
     schedule fitted to the steps that fit;
  4. the ship bar per label on the test split (SHIP_BAR); thresholds on the validation split;
  5. export TorchScript variants (fp32, bf16 graph, fast graph when scripts/fast_graph.py exists) with only
     the shipped labels, evaluate v1 and v2 on the same splits and on the functional set, time v1 vs v2;
  6. ship model.pt + manifest.json + MODEL_CARD.md and the golden file for the Swift test.

Rebuild (from the repository root):
  HF_HUB_OFFLINE=1 .venv-train/bin/python scripts/train_model.py
Re-export / re-evaluate from the saved checkpoint without training:
  HF_HUB_OFFLINE=1 .venv-train/bin/python scripts/train_model.py --skip-train --checkpoint /work/v2/checkpoint.pt
Cheap ablation runs (short training per arm, validation + functional set):
  HF_HUB_OFFLINE=1 .venv-train/bin/python scripts/train_model.py --ablate baseline,meaning --ablation-steps 300
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch
from torch import nn

import moderation_data as md  # noqa: E402
import synth_data  # noqa: E402
from bert_encoder import ModerationModel, load_bert  # noqa: E402
from golden_fp32 import add_fp32_reference, cpu_description  # noqa: E402
from moderation_data import CANDIDATES, DATA_ROOT, IDX, SOURCES, WEAK, load_all  # noqa: E402
from warden_tools import obfuscation  # noqa: E402
from warden_tools.functional_io import case_expectations  # noqa: E402
from warden_tools.paths import REPO  # noqa: E402
from warden_tools.tokenizer_reference import base_model_dir  # noqa: E402
from warden_tools.warden_text import normalize_platform_v1  # noqa: E402

THRESHOLD_RULE = ("per label, on the validation split (human-annotated rows only): the threshold maximising F1 "
                  "subject to precision >= 0.9; if that leaves recall < 0.5, maximise F1 subject to precision "
                  ">= 0.8; if that also leaves recall < 0.5, the threshold maximising F1")
SHIP_BAR = dict(min_pr_auc=0.70, min_test_positives=15)
SHIP_BAR_TEXT = ("a candidate label ships if, on the held-out test split (texts the model never saw, human-annotated "
                 "rows of every source that annotates it, synthetic rows excluded), PR-AUC >= 0.70 with at least 15 "
                 "positives, and validation PR-AUC >= 0.70 too")
OPENAI = {"toxic": "harassment", "hate": "hate", "hate/threatening": "hate/threatening", "violence": "violence",
          "illicit": "illicit", "self-harm": "self-harm", "sexual": "sexual", "sexual/minors": "sexual/minors"}
V1_LABELS = ["toxic", "hate", "spam"]
SPECIAL = ["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"]
START = time.time()
# per-epoch quotas: how many rows of each source one epoch sees (fresh sample every epoch) -- so that no
# platform's style decides. None = all rows; a float = that many passes over the source.
QUOTAS = {"davidson": 6000, "edos": 8000, "hatemoji": None, "convabuse": None, "sms": 2000,
          "ailuminate": 2.0, "sst": 3.0, "xstest": 3.0, "synthetic": None}
ARMS = {
    "baseline": dict(contrastive=False, synthetic=False, xstest=False, obfuscate=0.0),
    "meaning": dict(contrastive=True, synthetic=True, xstest=True, obfuscate=0.0),
    "full": dict(contrastive=True, synthetic=True, xstest=True, obfuscate=0.2),
}


def log(*a):
    print(f"[{time.time() - START:7.1f}s]", *a, flush=True)


def make_tokenizer(max_len: int):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(base_model_dir(), "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_len)
    return tok


def cpu_bf16() -> bool:
    flags = cpu_description()["bf16_flags"]
    return any(f.startswith("amx") or f == "avx512_bf16" for f in flags)


def machine_line(threads):
    return (f"{cpu_description()['model_name']} ({platform.machine()}, {os.cpu_count()} cores, "
            f"bf16 flags {','.join(f for f in cpu_description()['bf16_flags'] if 'bf16' in f or 'amx' in f) or 'none'}), "
            f"torch {torch.__version__}, {threads} threads")


def pad_batch(seqs, multiple=1):
    """Pads to the longest sequence, rounded up to `multiple` (fewer distinct shapes: oneDNN's bf16 kernels
    are built once per shape)."""
    L = max(len(s) for s in seqs)
    L = -(-L // multiple) * multiple
    ids = torch.zeros(len(seqs), L, dtype=torch.long)
    am = torch.zeros(len(seqs), L, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        am[i, :len(s)] = 1
    return ids, am


def predict(fn, seqs, batch_size=64, autocast=False):
    """Probabilities [N,k] for token-id lists, length-sorted batches (order restored)."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = None
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            ids, am = pad_batch([seqs[i] for i in idx], 8)
            p = fn(ids, am).float().numpy()
            if out is None:
                out = np.zeros((len(seqs), p.shape[1]), dtype=np.float64)
            out[idx] = p
    return out


# ----------------------------------------------------------------------------------------- parity
def encoder_parity(texts, n=300):
    from transformers import BertModel as HFBert
    mdir = base_model_dir()
    ref = HFBert.from_pretrained(mdir, add_pooling_layer=False).eval()
    ours = load_bert(mdir).eval()
    tok = make_tokenizer(128)
    seqs = [tok.encode(t).ids for t in texts[:n]]
    worst_valid, worst_all = 0.0, 0.0
    with torch.no_grad():
        for s in range(0, len(seqs), 32):
            ids, am = pad_batch(seqs[s:s + 32])
            a = ref(input_ids=ids, attention_mask=am).last_hidden_state
            b = ours(ids, am)
            d = (a - b).abs()
            worst_all = max(worst_all, d.max().item())
            worst_valid = max(worst_valid, (d * am[..., None]).max().item())
    del ref
    return dict(texts=len(seqs), reference=f"transformers {__import__('transformers').__version__} BertModel",
                max_abs_delta_hidden_states=worst_valid, max_abs_delta_incl_padding=worst_all)


# ----------------------------------------------------------------------------------------- data
def arm_filter(train, arm):
    a = ARMS[arm]
    out = []
    for e in train:
        if e["source"] == "synthetic" and not a["synthetic"]:
            continue
        if e["source"] == "xstest" and not a["xstest"]:
            continue
        if e["source"] == "hatemoji" and e.get("contrastive") and not a["contrastive"]:
            continue
        out.append(e)
    return out


def epoch_examples(train, rng):
    by = {}
    for e in train:
        by.setdefault(e["source"], []).append(e)
    out = []
    for s, rows in by.items():
        q = QUOTAS.get(s)
        if q is None:
            out += rows
        elif isinstance(q, float):
            out += rows * int(q) + rng.sample(rows, int(len(rows) * (q - int(q))))
        elif s == "davidson":  # all hate/neither, a fresh sample of offensive tweets
            keep = [e for e in rows if e["strat"] != "offensive"]
            off = [e for e in rows if e["strat"] == "offensive"]
            out += keep + rng.sample(off, max(0, min(len(off), q - len(keep))))
        elif s == "edos":  # all sexist posts, a fresh sample of not-sexist ones
            keep = [e for e in rows if e["strat"] != "none"]
            rest = [e for e in rows if e["strat"] == "none"]
            out += keep + rng.sample(rest, max(0, min(len(rest), q - len(keep))))
        elif s == "sms":  # all spam, a fresh sample of ham
            keep = [e for e in rows if e["strat"] == "spam"]
            rest = [e for e in rows if e["strat"] != "spam"]
            out += keep + rng.sample(rest, max(0, min(len(rest), q - len(keep))))
        else:
            out += rng.sample(rows, min(q, len(rows)))
    return out


def make_batches(exs, rng, batch_size, chunk=50):
    exs = exs[:]
    rng.shuffle(exs)
    batches = []
    for s in range(0, len(exs), batch_size * chunk):
        part = sorted(exs[s:s + batch_size * chunk], key=lambda e: len(e["ids"]))
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


class Augmenter:
    """Obfuscates a fraction of rows (positive and negative alike) at training time, then applies the model's
    normalisation and tokenizer to the result, as Warden would at inference."""

    def __init__(self, frac, tok, norm_fn, max_len, seed):
        self.frac = frac if obfuscation is not None else 0.0
        self.tok, self.norm_fn, self.max_len = tok, norm_fn, max_len
        self.rng = random.Random(seed + 1)
        self.done = 0

    def ids(self, e):
        if self.frac > 0 and self.rng.random() < self.frac:
            src = md.unmark_edos(e["text"]) if e["source"] == "edos" else e["text"]
            try:
                t = obfuscation.obfuscate(src, self.rng)
                self.done += 1
                return self.tok.encode(self.norm_fn(t)).ids[:self.max_len]
            except Exception:  # noqa: BLE001 -- a text the obfuscator cannot handle stays as it is
                pass
        return e["ids"][:self.max_len]


def setup_trainable(model, args):
    if args.freeze_embeddings:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    for layer in model.bert.encoder.layer[:args.freeze_layers]:
        for p in layer.parameters():
            p.requires_grad_(False)
    if args.freeze_layers:
        for p in model.bert.embeddings.parameters():
            p.requires_grad_(False)


def val_subset(val_ex, n, seed):
    """A fixed, source-stratified subset of the validation split for per-epoch model selection."""
    rng = random.Random(seed)
    if len(val_ex) <= n:
        return val_ex
    by = {}
    for e in val_ex:
        by.setdefault(e["source"], []).append(e)
    out = []
    for s, rows in by.items():
        k = max(1, int(round(n * len(rows) / len(val_ex))))
        out += rows if len(rows) <= max(k, 300) else rng.sample(rows, max(k, 300))
    return out


def mean_val_pr_auc(model, val_ex, autocast):
    vp = predict(model, [e["ids"] for e in val_ex], autocast=autocast)
    m = metrics_table(val_ex, vp, {l: 0.5 for l in CANDIDATES}, CANDIDATES)
    aucs = {l: m["all"][l].get("pr_auc") for l in CANDIDATES}
    vals = [v for v in aucs.values() if v is not None]
    return float(np.mean(vals)), aucs, {l: m["all"][l].get("roc_auc") for l in CANDIDATES}


def train(model, train_ex, val_ex, args, arm="full", max_steps=None, max_minutes=None):
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    setup_trainable(model, args)
    head = [p for n, p in model.named_parameters() if n.startswith("classifier") and p.requires_grad]
    body = [p for n, p in model.named_parameters() if not n.startswith("classifier") and p.requires_grad]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": head, "lr": args.head_lr}],
                            weight_decay=0.01)
    train_ex = arm_filter(train_ex, arm)
    per_epoch = len(epoch_examples(train_ex, random.Random(0)))
    steps_per_epoch = math.ceil(per_epoch / args.batch_size)
    plan = dict(total=args.epochs * steps_per_epoch if max_steps is None else max_steps)
    warm = max(1, int(0.06 * plan["total"]))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (plan["total"] - s) / max(1, plan["total"] - warm))))
    cap = (max_minutes if max_minutes is not None else args.max_train_minutes) * 60.0
    tok = make_tokenizer(args.max_len)
    aug = Augmenter(ARMS[arm]["obfuscate"] if args.obfuscate_frac is None else args.obfuscate_frac,
                    tok, md.normalizer(), args.train_max_len, args.seed)
    sel = val_subset(val_ex, args.val_select, args.seed)
    log(f"[{arm}] training: {per_epoch} examples/epoch, {steps_per_epoch} steps/epoch, planned {plan['total']} steps, "
        f"batch {args.batch_size}, cap {cap / 60:.1f} min, bf16 autocast {args.bf16}, obfuscation frac {aug.frac}, "
        f"selection on {len(sel)} validation rows")
    history, best = [], (-1.0, None, 0)
    step, t0, stopped = 0, time.time(), False
    ep = 0
    while not stopped:
        model.train()
        exs = epoch_examples(train_ex, rng)
        t_ep, run_loss, nb = time.time(), 0.0, 0
        for batch in make_batches(exs, rng, args.batch_size):
            if step >= plan["total"] or time.time() - t0 >= cap:
                stopped = True
                break
            ids, am = pad_batch([aug.ids(e) for e in batch], 8)
            y = torch.tensor([e["y"] for e in batch])
            w = torch.tensor([e["w"] for e in batch])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                logits = model.logits(ids, am)
            loss_el = nn.functional.binary_cross_entropy_with_logits(logits.float(), y, reduction="none")
            loss = (loss_el * w).sum() / w.sum().clamp(min=1.0)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
            run_loss += loss.item(); step += 1; nb += 1
            el = time.time() - t0
            if step in (30, 150, 400) and max_steps is None:
                # fit the schedule to the wall-clock cap: linear decay ends when the cap is reached
                fit = int(cap / (el / step) * 0.97)
                if fit < plan["total"]:
                    plan["total"] = fit
                    log(f"[{arm}] schedule fitted to the cap: {fit} steps ({el / step:.2f} s/step)")
            if step == 3 or step % 100 == 0:
                log(f"[{arm}] epoch {ep + 1} step {step}/{plan['total']} loss {run_loss / nb:.4f} "
                    f"({el / step:.2f} s/step, {el / 60:.1f} min)")
        if nb == 0:
            break
        model.eval()
        mean_pr, prs, rocs = mean_val_pr_auc(model, sel, args.bf16)
        history.append(dict(epoch=ep + 1, steps=nb, train_loss=run_loss / nb, val_pr_auc=prs, val_roc_auc=rocs,
                            epoch_seconds=round(time.time() - t_ep, 1)))
        log(f"[{arm}] epoch {ep + 1} ({nb} steps) done in {time.time() - t_ep:.0f}s; val mean PR-AUC {mean_pr:.4f} "
            f"{ {k: round(v, 3) for k, v in prs.items() if v is not None} }")
        if mean_pr > best[0]:
            best = (mean_pr, copy.deepcopy(model.state_dict()), ep + 1)
        ep += 1
        if step >= plan["total"] or time.time() - t0 >= cap:
            stopped = True
    model.load_state_dict(best[1])
    log(f"[{arm}] kept epoch {best[2]} (best mean validation PR-AUC {best[0]:.4f}); {step} steps, "
        f"{(time.time() - t0) / 60:.1f} min; {aug.done} obfuscated rows")
    return history, best[2], dict(steps=step, seconds=round(time.time() - t0, 1), obfuscated_rows=aug.done,
                                  planned_steps=plan["total"], per_epoch=per_epoch)


# ----------------------------------------------------------------------------------------- metrics
def ece(y, p, bins=10):
    y, p = np.asarray(y), np.asarray(p)
    edges = np.linspace(0, 1, bins + 1)
    e = 0.0
    for i in range(bins):
        m = (p >= edges[i]) & ((p < edges[i + 1]) if i < bins - 1 else (p <= 1))
        if m.any():
            e += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(e)


def label_metrics(y, p, thr):
    from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score
    y = np.asarray(y).astype(int)
    p = np.asarray(p)
    r = dict(n=int(len(y)), positives=int(y.sum()))
    if len(y) == 0:
        return r
    pred = (p >= thr).astype(int)
    if 0 < y.sum() < len(y):
        r.update(roc_auc=float(roc_auc_score(y, p)), pr_auc=float(average_precision_score(y, p)),
                 f1=float(f1_score(y, pred, zero_division=0)),
                 precision=float(precision_score(y, pred, zero_division=0)),
                 recall=float(recall_score(y, pred, zero_division=0)))
    r.update(ece=ece(y, p), positive_rate_at_threshold=float(pred.mean()))
    return r


def ev(e):
    """Which labels of a row count as ground truth in evaluation: its loss weights, except where the data
    module says otherwise (`ew`: EDOS not-sexist posts are weak hate negatives in training but the in-register
    negatives for gender-based hate in evaluation, as the EDOS README suggests)."""
    return e.get("ew") or e["w"]


def metrics_table(exs, probs, thresholds, labels):
    """Per label (columns of `probs` in `labels` order): pooled over human-annotated rows (weight 1) of the
    real sources, and per source. Synthetic rows and rows a source does not annotate are reported only as a
    rate at the threshold (false-positive check)."""
    out = {"all": {}}
    for s in SOURCES + ["synthetic"]:
        out[s] = {}
    for j, lab in enumerate(labels):
        c = IDX[lab]
        sel = [i for i, e in enumerate(exs) if ev(e)[c] == 1.0 and e["source"] != "synthetic"]
        out["all"][lab] = label_metrics([exs[i]["y"][c] for i in sel], probs[sel, j], thresholds[lab])
        for s in SOURCES + ["synthetic"]:
            sel_s = [i for i, e in enumerate(exs) if ev(e)[c] == 1.0 and e["source"] == s]
            if sel_s and s != "synthetic":
                out[s][lab] = label_metrics([exs[i]["y"][c] for i in sel_s], probs[sel_s, j], thresholds[lab])
            else:
                unl = [i for i, e in enumerate(exs) if e["source"] == s and (s == "synthetic" or ev(e)[c] < 1.0)]
                if unl:
                    out[s][lab] = dict(annotated=False, n=len(unl), positive_rate_at_threshold=float(
                        (probs[unl, j] >= thresholds[lab]).mean()), mean_probability=float(probs[unl, j].mean()))
    return out


def synthetic_rates(exs, probs, thresholds, labels):
    """Per synthetic kind: how often hate / toxic fire (all synthetic rows are non-hateful)."""
    res = {}
    kinds = sorted({e["kind"] for e in exs if e["source"] == "synthetic"})
    for k in kinds:
        sel = [i for i, e in enumerate(exs) if e.get("kind") == k]
        res[k] = dict(n=len(sel))
        for lab in ("hate", "toxic"):
            if lab in labels:
                j = labels.index(lab)
                res[k][lab] = float((probs[sel, j] >= thresholds[lab]).mean())
    return res


def choose_thresholds(val_ex, probs, labels):
    from sklearn.metrics import precision_recall_curve
    res = {}
    for j, lab in enumerate(labels):
        c = IDX[lab]
        sel = [i for i, e in enumerate(val_ex) if ev(e)[c] == 1.0 and e["source"] != "synthetic"]
        y = np.array([val_ex[i]["y"][c] for i in sel])
        p = probs[sel, j]
        prec, rec, thr = precision_recall_curve(y, p)
        prec, rec = prec[:-1], rec[:-1]
        f1 = 2 * prec * rec / np.clip(prec + rec, 1e-12, None)
        chosen = None
        for min_p, tier in ((0.9, "precision>=0.9"), (0.8, "precision>=0.8")):
            ok = np.where(prec >= min_p)[0]
            if len(ok):
                k = ok[np.argmax(f1[ok])]
                if rec[k] >= 0.5:
                    chosen = (k, tier)
                    break
        if chosen is None:
            chosen = (int(np.argmax(f1)), "max F1")
        k, tier = chosen
        res[lab] = dict(threshold=float(round(float(thr[k]), 4)), tier=tier, val_precision=float(prec[k]),
                        val_recall=float(rec[k]), val_f1=float(f1[k]))
    return res


# ----------------------------------------------------------------------------------------- functional set
def functional_cases(path):
    if not os.path.isfile(path):
        return None
    return [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]


def functional_eval(cases, probs, labels, thresholds):
    """Per kind: accuracy of `hate` (expected hateful or not) and of `flagged` (any shipped label at its
    threshold) against each case's expectation. Reads the fields of Tests/Fixtures/functional/cases.jsonl."""
    per_kind, tot = {}, dict(hate_right=0, hate_n=0, flag_right=0, flag_n=0, flag_hateful_right=0, flag_hateful_n=0,
                             hate_hateful_right=0, hate_hateful_n=0)
    for c, p in zip(cases, probs):
        exp = case_expectations(c)
        k = per_kind.setdefault(exp["kind"], dict(n=0, hate_right=0, hate_n=0, flag_right=0, flag_n=0))
        k["n"] += 1
        fired = {l: bool(p[j] >= thresholds[l]) for j, l in enumerate(labels)}
        flagged = any(fired.values())
        if exp.get("hate") is not None and "hate" in fired:
            ok = fired["hate"] == exp["hate"]
            k["hate_right"] += ok; k["hate_n"] += 1; tot["hate_right"] += ok; tot["hate_n"] += 1
            if exp["hate"]:
                tot["hate_hateful_right"] += ok; tot["hate_hateful_n"] += 1
        if exp.get("flagged") is not None:
            ok = flagged == exp["flagged"]
            k["flag_right"] += ok; k["flag_n"] += 1; tot["flag_right"] += ok; tot["flag_n"] += 1
        if exp.get("hateful"):  # issue 16's headline: the share of hateful cases that are flagged
            tot["flag_hateful_right"] += flagged; tot["flag_hateful_n"] += 1
    ratio = lambda a, b: (a / b) if b else None
    kinds = {kk: dict(n=v["n"], hate_acc=ratio(v["hate_right"], v["hate_n"]), flagged_acc=ratio(v["flag_right"], v["flag_n"]))
             for kk, v in sorted(per_kind.items())}
    return dict(kinds=kinds, hate_acc=ratio(tot["hate_right"], tot["hate_n"]),
                hate_on_hateful=ratio(tot["hate_hateful_right"], tot["hate_hateful_n"]),
                flagged_acc=ratio(tot["flag_right"], tot["flag_n"]),
                flagged_on_hateful=ratio(tot["flag_hateful_right"], tot["flag_hateful_n"]), n=len(cases))


def encode_texts(texts, norm_fn, max_len):
    tok = make_tokenizer(max_len)
    return [enc.ids for enc in tok.encode_batch([norm_fn(t) for t in texts])]


# ----------------------------------------------------------------------------------------- export
def ship_model(model, labels):
    m = copy.deepcopy(model).eval()
    rows = [IDX[l] for l in labels]
    lin = nn.Linear(m.classifier.in_features, len(rows))
    with torch.no_grad():
        lin.weight.copy_(model.classifier.weight[rows])
        lin.bias.copy_(model.classifier.bias[rows])
    m.classifier = lin
    return m


def build_variant(model, name):
    m = copy.deepcopy(model).eval()
    if name == "bf16":
        m.bert.to(torch.bfloat16)
    return torch.jit.script(m)


def check_shapes(path, ref_model, tol, n_labels):
    loaded = torch.jit.load(path)
    worst = 0.0
    g = torch.Generator().manual_seed(1)
    for B in (1, 3, 8):
        for L in (1, 5, 17, 128):
            ids = torch.randint(1000, 30000, (B, L), generator=g)
            ids[:, 0] = 101
            ids[:, -1] = 102
            am = torch.ones(B, L, dtype=torch.long)
            if B > 1 and L > 2:
                am[1:, L // 2 + 1:] = 0
                ids[1:, L // 2 + 1:] = 0
            with torch.no_grad():
                out = loaded(ids, am)
                ref = ref_model(ids, am)
            assert out.dtype == torch.float32 and tuple(out.shape) == (B, n_labels), (out.dtype, out.shape)
            worst = max(worst, (out - ref).abs().max().item())
    assert worst <= tol, f"{path}: max |delta| vs eager fp32 {worst} > {tol}"
    return worst


def bench(paths, threads, calls, corpus, norms, seed=0):
    """Runs in a fresh process: all model files loaded in one process, timed interleaved call by call on
    the same fresh random chat batches."""
    cmd = [sys.executable, os.path.abspath(__file__), "--bench", ",".join(paths), "--bench-norms", ",".join(norms),
           "--bench-threads", str(threads), "--bench-calls", str(calls), "--bench-corpus", corpus, "--seed", str(seed)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_main(args):
    from warden_tools import warden_text
    torch.set_num_threads(args.bench_threads)
    tok = make_tokenizer(128)
    msgs = [l.rstrip("\n") for l in open(args.bench_corpus, encoding="utf-8") if l.strip()]
    paths = args.bench.split(",")
    norms = [warden_text.NORMALIZERS.get(n, normalize_platform_v1) if hasattr(warden_text, "NORMALIZERS") else normalize_platform_v1
             for n in args.bench_norms.split(",")]
    models = [torch.jit.load(p) for p in paths]
    rng = random.Random(args.seed)
    res = {p: {} for p in paths}
    for B, calls in ((1, args.bench_calls), (32, max(10, args.bench_calls // 4))):
        times = {p: [] for p in paths}
        for i in range(calls + 10):
            texts = rng.sample(msgs, B)
            for p, m, nf in zip(paths, models, norms):
                ids, am = pad_batch([tok.encode(nf(t)).ids for t in texts])
                t0 = time.perf_counter()
                with torch.no_grad():
                    m(ids, am)
                dt = time.perf_counter() - t0
                if i >= 10:
                    times[p].append(dt * 1000)
        for p in paths:
            res[p][f"batch{B}"] = dict(median_ms=float(np.median(times[p])), mean_ms=float(np.mean(times[p])),
                                       p90_ms=float(np.percentile(times[p], 90)), calls=len(times[p]),
                                       per_message_ms=float(np.median(times[p])) / B)
    res["loadavg"] = os.getloadavg()
    print(json.dumps(res))


# ----------------------------------------------------------------------------------------- golden
def write_golden(path, default_file, test_ex, labels, max_len, seed, n_per_source, norm_name):
    norm_fn = md.normalizer()
    tok_full = make_tokenizer(100000)
    tok = make_tokenizer(max_len)
    rng = random.Random(seed)
    bad = lambda t: any(s.lower() in t.lower() for s in SPECIAL)
    chosen = []
    for s, n in n_per_source.items():
        pool = [e for e in test_ex if e["source"] == s and not bad(e["text"])]
        rng.shuffle(pool)
        longs = [e for e in pool if len(tok_full.encode(e["norm"]).ids) > max_len][:max(2, n // 6)]
        pos = [e for e in pool if e not in longs and any(e["y"][IDX[l]] == 1 and e["w"][IDX[l]] == 1 for l in labels)]
        neg = [e for e in pool if e not in longs and e not in pos]
        k = n - len(longs)
        chosen += longs + pos[:k // 2] + neg[:k - k // 2]
    synth = []
    for s in ("davidson", "edos", "sms"):
        pool = [e for e in test_ex if e["source"] == s and not bad(e["text"])]
        for i in range(3):
            parts = rng.sample(pool, 14)
            synth.append(dict(source=s, id=f"{s}:joined{i}", text=" ".join(raw_text(p) for p in parts),
                              y=None, w=None, joined_from=[p["id"] for p in parts]))
    model = torch.jit.load(default_file)
    items = []
    for e in chosen + synth:
        text = raw_text(e) if e.get("y") is not None else e["text"]
        norm = norm_fn(text)
        full = len(tok_full.encode(norm).ids)
        ids = tok.encode(norm).ids
        with torch.no_grad():
            p = model(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))[0].tolist()
        item = dict(id=e["id"], source=e["source"], text=text, normalized_text=norm, token_ids=ids,
                    untruncated_length=full, truncated=full > max_len, probabilities=p)
        if e.get("y") is not None:
            item["labels"] = {l: (e["y"][IDX[l]] if e["w"][IDX[l]] == 1.0 else None) for l in labels}
        if "joined_from" in e:
            item["joined_from_test_ids"] = e["joined_from"]
        items.append(item)
    doc = dict(
        description="Golden outputs of the default Warden moderation model (models/minilm-moderation). "
                    f"Each text: {norm_name} normalisation, then the base model's tokenizer.json (HF tokenizers), "
                    "[CLS] ... [SEP] truncated to max_sequence_length, then the exported TorchScript file "
                    "(torch.jit.load) called with ONE text per call (batch 1, no padding). Texts come from the "
                    "test split (EDOS's [USER]/[URL] markers written as @user/http); entries with "
                    "joined_from_test_ids are several test texts joined by spaces to exercise truncation.",
        model_file="models/minilm-moderation/model.pt", labels=labels, max_sequence_length=max_len,
        text_normalization=norm_name, torch_version=torch.__version__, tolerance=1e-4,
        count=len(items), items=items)
    add_fp32_reference(doc, default_file)
    env = max(abs(a - b) for it in items for a, b in zip(it["probabilities"], it["probabilities_fp32"]))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    return dict(count=len(items), truncated=sum(i["truncated"] for i in items),
                by_source={s: sum(i["source"] == s for i in items) for s in n_per_source},
                max_abs_bf16_vs_fp32=env)


def raw_text(e):
    """The text Warden would receive for a row (EDOS markers as the handles/links they replaced)."""
    return md.unmark_edos(e["text"]) if e["source"] == "edos" else e["text"]


# ----------------------------------------------------------------------------------------- main
def load_data(args):
    examples, data_stats = load_all(args.seed, args.data)
    syn = synth_data.build(examples, md.normalizer(), seed=args.seed)
    data_stats["synthetic"] = {k: v for k, v in __import__("collections").Counter(
        f"{e['kind']}:{e['split']}" for e in syn).items()}
    examples = examples + syn
    tok = make_tokenizer(args.max_len)
    for e, enc in zip(examples, tok.encode_batch([e["norm"] for e in examples])):
        e["ids"] = enc.ids
    split = {s: [e for e in examples if e["split"] == s] for s in ("train", "val", "test")}
    return split, data_stats


def v1_probs(v1_file, exs, max_len):
    """v1 (3 labels, platform-v1) on the same rows: its own normalisation of the same raw text."""
    model = torch.jit.load(v1_file)
    seqs = encode_texts([raw_text(e) if e["source"] != "synthetic" else e["text"] for e in exs], normalize_platform_v1, max_len)
    return predict(model, seqs)


def ablate(args, split):
    arms = args.ablate.split(",")
    out_path = os.path.join(args.work_dir, "ablation.json")
    results = json.load(open(out_path)) if os.path.isfile(out_path) else {}  # arms run earlier stay
    for arm in arms:
        model = ModerationModel(load_bert(base_model_dir()), len(CANDIDATES))
        hist, best_ep, info = train(model, split["train"], split["val"], args, arm=arm,
                                    max_steps=args.ablation_steps, max_minutes=args.ablation_minutes)
        model.eval()
        sd_path = os.path.join(args.work_dir, f"ablation-{arm}.pt")
        torch.save(model.state_dict(), sd_path)
        vp = predict(model, [e["ids"] for e in split["val"]], autocast=args.bf16)
        th = {l: 0.5 for l in CANDIDATES}
        tsel = choose_thresholds(split["val"], vp, CANDIDATES)
        th = {l: tsel[l]["threshold"] for l in CANDIDATES}
        m = metrics_table(split["val"], vp, th, CANDIDATES)
        res = dict(arm=arm, config=ARMS[arm], norm=md.normalizer_name(), freeze_layers=args.freeze_layers,
                   train_max_len=args.train_max_len, train=info, history=hist,
                   val={s: {l: {k: m[s][l].get(k) for k in ("n", "positives", "roc_auc", "pr_auc", "f1", "positive_rate_at_threshold")}
                            for l in m[s]} for s in m},
                   synthetic_val=synthetic_rates(split["val"], vp, th, CANDIDATES), thresholds=th, state_dict=sd_path)
        results[arm] = res
        log(f"ablation {arm}: val PR-AUC " + str({l: round(m['all'][l].get('pr_auc') or 0, 3) for l in CANDIDATES}))
        json.dump(results, open(out_path, "w"), indent=1)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "models", "minilm-moderation"))
    ap.add_argument("--golden", default=os.path.join(REPO, "Tests", "Fixtures", "default_model_golden.json"))
    ap.add_argument("--work-dir", default="/tmp/warden-train", help="checkpoint and all exported variants")
    ap.add_argument("--checkpoint", default=None, help="fp32 state_dict path (default WORK_DIR/checkpoint.pt)")
    ap.add_argument("--v1-model", default=None, help="v1 model.pt for the comparison (default WORK_DIR/v1-model.pt, "
                    "else taken from git: the last commit whose manifest says version 1.0.0)")
    ap.add_argument("--functional", default=os.path.join(REPO, "Tests", "Fixtures", "functional", "cases.jsonl"))
    ap.add_argument("--precision", choices=["auto", "fp32", "bf16", "fast"], default="auto")
    ap.add_argument("--skip-train", action="store_true", help="reuse the checkpoint")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--max-train-minutes", type=float, default=35.0, help="hard cap on the training loop")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--train-max-len", type=int, default=128)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--freeze-layers", type=int, default=1)
    ap.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                    help="bf16 autocast in training (default: on where the CPU has AVX-512 BF16 or AMX)")
    ap.add_argument("--obfuscate-frac", type=float, default=None, help="fraction of rows obfuscated (default 0.2)")
    ap.add_argument("--val-select", type=int, default=3000, help="validation rows used for per-epoch selection")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ablate", default=None, help="comma-separated arms (baseline, meaning, full): short runs only")
    ap.add_argument("--ablation-steps", type=int, default=300)
    ap.add_argument("--ablation-minutes", type=float, default=4.0)
    ap.add_argument("--card-only", action="store_true",
                    help="rewrite manifest.json and MODEL_CARD.md from WORK_DIR/bundle.json (after more ablation arms)")
    ap.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--bench", help=argparse.SUPPRESS)
    ap.add_argument("--bench-norms", default="platform-v1", help=argparse.SUPPRESS)
    ap.add_argument("--bench-threads", type=int, default=2)
    ap.add_argument("--bench-calls", type=int, default=120)
    ap.add_argument("--bench-corpus", default=os.path.join(REPO, "peers", "messages.txt"), metavar="FILE")
    ap.add_argument("--data", default=DATA_ROOT, metavar="DIR")
    args = ap.parse_args()
    args.start_time = START
    if args.bench:
        return bench_main(args)
    if args.card_only:
        import post_train
        return post_train.card_only(args)
    if args.bf16 is None:
        args.bf16 = cpu_bf16()
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    random.seed(args.seed); np.random.seed(args.seed); torch.manual_seed(args.seed)
    split, data_stats = load_data(args)
    if args.smoke:
        split = {k: v[::10] if k != "train" else v for k, v in split.items()}
        args.bench_calls = 10
        args.max_train_minutes = min(args.max_train_minutes, 1.0)
    log("data", json.dumps(data_stats)[:2000])
    if args.ablate:
        ablate(args, split)
        log("ablation done")
        return
    if not os.path.isfile(args.bench_corpus):
        sys.exit(f"error: chat corpus {args.bench_corpus} not found; pass --bench-corpus FILE (one message per line)")
    os.makedirs(args.out, exist_ok=True)
    ckpt = args.checkpoint or os.path.join(args.work_dir, "checkpoint.pt")
    meta_path = os.path.join(os.path.dirname(ckpt), "train_meta.json")
    model = ModerationModel(load_bert(base_model_dir()), len(CANDIDATES))
    if args.skip_train:
        model.load_state_dict(torch.load(ckpt))
        meta = json.load(open(meta_path))
        log("loaded checkpoint", ckpt)
    else:
        rng = random.Random(args.seed)
        parity = encoder_parity([e["norm"] for e in rng.sample(split["val"], min(300, len(split["val"])))])
        log("encoder parity", parity)
        assert parity["max_abs_delta_hidden_states"] <= 1e-4, parity
        t0 = time.time()
        history, best_epoch, info = train(model, split["train"], split["val"], args, arm="full")
        meta = dict(parity=parity, history=history, best_epoch=best_epoch, train_info=info,
                    train_seconds=round(time.time() - t0, 1), machine=machine_line(args.threads),
                    loadavg_after_training=os.getloadavg(), hyperparameters=dict(
                        max_epochs=args.epochs, max_train_minutes=args.max_train_minutes, batch_size=args.batch_size,
                        lr=args.lr, head_lr=args.head_lr, train_max_len=args.train_max_len, quotas=QUOTAS,
                        frozen_bottom_layers=args.freeze_layers, freeze_word_embeddings=args.freeze_embeddings,
                        weak_label_weight=WEAK, bf16_autocast=args.bf16,
                        obfuscation_fraction=args.obfuscate_frac if args.obfuscate_frac is not None else ARMS["full"]["obfuscate"],
                        obfuscation_available=obfuscation is not None,
                        optimizer="AdamW wd 0.01, 6% warmup, linear decay fitted to the wall-clock cap, grad clip 1.0",
                        seed=args.seed, threads=args.threads))
        os.makedirs(os.path.dirname(ckpt), exist_ok=True)
        torch.save(model.state_dict(), ckpt)
        json.dump(meta, open(meta_path, "w"), indent=1)
        log("saved checkpoint", ckpt)
    model.eval()
    finish(args, model, split, data_stats, meta)


def finish(args, model, split, data_stats, meta):
    import post_train
    post_train.finish(args, model, split, data_stats, meta)


if __name__ == "__main__":
    main()
