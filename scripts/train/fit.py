"""The first half of the pipeline: encoder parity, the training loop (masked multi-label BCE, per-source quotas,
obfuscation augmentation, a wall-clock cap) and the short ablation runs."""
from __future__ import annotations

import copy
import json
import math
import os
import random
import time

import numpy as np
import torch
from torch import nn

from train import moderation_data as md
from train.bert_encoder import ModerationModel, load_bert
from train.common import log, make_tokenizer, pad_batch, predict
from train.metrics import choose_thresholds, metrics_table, summary, synthetic_rates
from train.spec import CANDIDATES, SPEC
from warden_tools import obfuscation
from warden_tools.tokenizer_reference import base_model_dir

QUOTAS = dict(SPEC.quotas)
ARMS = {name: dict(arm) for name, arm in SPEC.arms.items()}


def encoder_parity(texts, n=300):
    import transformers
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
    return dict(texts=len(seqs), reference=f"transformers {transformers.__version__} BertModel",
                max_abs_delta_hidden_states=worst_valid, max_abs_delta_incl_padding=worst_all)


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
        self.frac = frac
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
    for rows in by.values():
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
    history, best, warmed = [], (-1.0, None, 0), (0, 0.0)
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
            if step == 30:
                warmed = (step, el)  # the first steps build a kernel per new input shape: too slow to plan from
            if step in (150, 400) and max_steps is None:
                # fit the schedule to the wall-clock cap: linear decay ends when the cap is reached
                rate = (el - warmed[1]) / (step - warmed[0])
                fit = step + int((cap - el) / rate * 0.97)
                if fit < plan["total"]:
                    plan["total"] = fit
                    log(f"[{arm}] schedule fitted to the cap: {fit} steps ({rate:.2f} s/step after warm-up)")
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
                   val=summary(m),
                   synthetic_val=synthetic_rates(split["val"], vp, th, CANDIDATES), thresholds=th, state_dict=sd_path)
        results[arm] = res
        log(f"ablation {arm}: val PR-AUC " + str({l: round(m['all'][l].get('pr_auc') or 0, 3) for l in CANDIDATES}))
        json.dump(results, open(out_path, "w"), indent=1)
    return results
