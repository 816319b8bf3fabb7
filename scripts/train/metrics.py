"""Evaluation: metrics per label and source, thresholds chosen on validation, synthetic-row flag rates and the
functional set's accuracies."""
from __future__ import annotations

import numpy as np

from train.spec import IDX, SOURCES
from warden_tools.functional_io import case_expectations


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


SUMMARY_KEYS = ("n", "positives", "roc_auc", "pr_auc", "f1", "positive_rate_at_threshold")


def summary(table):
    """A metrics_table cut to the figures an ablation run keeps, per source and label."""
    return {s: {l: {k: table[s][l].get(k) for k in SUMMARY_KEYS} for l in table[s]} for s in table}


def synthetic_rates(exs, probs, thresholds, labels):
    """Per synthetic kind: how often hate / harassment fire (all synthetic rows are non-hateful)."""
    res = {}
    kinds = sorted({e["kind"] for e in exs if e["source"] == "synthetic"})
    for k in kinds:
        sel = [i for i, e in enumerate(exs) if e.get("kind") == k]
        res[k] = dict(n=len(sel))
        for lab in ("hate", "harassment"):
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
        for min_p, tier in ((0.8, "precision>=0.8"),):
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
        if exp.get("hateful"):  # the functional set's headline: the share of hateful cases that are flagged
            tot["flag_hateful_right"] += flagged; tot["flag_hateful_n"] += 1
    ratio = lambda a, b: (a / b) if b else None
    kinds = {kk: dict(n=v["n"], hate_acc=ratio(v["hate_right"], v["hate_n"]), flagged_acc=ratio(v["flag_right"], v["flag_n"]))
             for kk, v in sorted(per_kind.items())}
    return dict(kinds=kinds, hate_acc=ratio(tot["hate_right"], tot["hate_n"]),
                hate_on_hateful=ratio(tot["hate_hateful_right"], tot["hate_hateful_n"]),
                flagged_acc=ratio(tot["flag_right"], tot["flag_n"]),
                flagged_on_hateful=ratio(tot["flag_hateful_right"], tot["flag_hateful_n"]), n=len(cases))
