"""The second half of the pipeline: calibration, the ship decision, thresholds, export of the variants, the previous
models evaluated on the same splits, the functional set and the self-harm contrast set, the cross-source results,
speed and the golden file. It returns the run's results (results.py),
from which card.py renders the manifest and MODEL_CARD.md; it imports nothing from the first half (fit.py)."""
from __future__ import annotations

import json
import os
import random
import shutil
import time

import numpy as np
import torch

from train import crosssource, export, results
from train import moderation_data as md
from train.bert_encoder import ModerationModel, load_bert
from train.common import START, encode_texts, log, predict, raw_text
from train.metrics import choose_thresholds, ev, functional_eval, metrics_table, summary, synthetic_rates
from train.spec import CANDIDATES, IDX, SPEC
from train.splits import load_data
from warden_tools import obfuscation
from warden_tools.functional_io import load_cases
from warden_tools.paths import REPO
from warden_tools.tokenizer_reference import base_model_dir
from warden_tools.warden_text import NORMALIZERS

GOLDEN_PER_SOURCE = {"davidson": 30, "convabuse": 20, "sms": 20, "edos": 30, "hatemoji": 20, "ailuminate": 24, "sst": 6,
                     "xstest": 10, "toxigen": 15, "implicit": 25, "misogyny": 15, "ethos": 15, "toxichat": 20, "civil": 20}
ALIASES = {"toxic": "harassment"}  # former label names (the manifest's label_aliases)
CRISIS_LABEL, EVERYDAY_BUDGET = "self-harm", 0.01  # recall first, but greetings must not flag
TEMPERATURES = np.round(np.exp(np.linspace(np.log(0.33), np.log(4.0), 61)), 4)


def previous_models(args):
    """[(name, folder)] of the models this one is compared with (--previous-models NAME=DIR,...)."""
    out = []
    for item in (args.previous_models or "").split(","):
        if item.strip():
            name, _, folder = item.partition("=")
            if os.path.isfile(os.path.join(folder, "manifest.json")):
                out.append((name.strip(), folder.strip()))
            else:
                log(f"previous model {name} not found at {folder}: left out")
    return out


def previous_probs(folder, exs, max_len):
    """An earlier bundle on rows (its own normalisation of the same raw text), its labels and thresholds under
    today's label names."""
    man = json.load(open(os.path.join(folder, "manifest.json")))
    nf = NORMALIZERS[man.get("text_normalization", "platform-v1")]
    texts = [raw_text(e) if e["source"] != "synthetic" else e["text"] for e in exs]
    probs = probs_of(os.path.join(folder, "model.pt"), encode_texts(texts, nf, max_len))
    labels = [ALIASES.get(l, l) for l in man["labels"]]
    thresholds = {ALIASES.get(k, k): v for k, v in man["thresholds"].items()}
    return probs, labels, thresholds, man


def _logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


def fit_temperatures(val, vp):
    """A temperature per candidate label, fitted on the pooled human-annotated validation rows of every source
    (minimum log loss over a grid); p_calibrated = sigmoid(logit(p) / T)."""
    temps = {}
    for j, lab in enumerate(CANDIDATES):
        c = IDX[lab]
        sel = [i for i, e in enumerate(val) if ev(e)[c] == 1.0 and e["source"] != "synthetic"]
        y = np.array([val[i]["y"][c] for i in sel])
        if len(sel) < 20 or y.sum() == 0 or y.sum() == len(y):
            temps[lab] = 1.0
            continue
        z = _logit(vp[sel, j])
        losses = [np.mean(np.logaddexp(0, z / t) - y * z / t) for t in TEMPERATURES]
        temps[lab] = float(TEMPERATURES[int(np.argmin(losses))])
    return temps


def apply_temperatures(probs, temps, labels):
    t = np.array([temps[l] for l in labels])
    return 1.0 / (1.0 + np.exp(-_logit(probs) / t))


def scale_head(model, temps):
    """Bakes the temperatures into the classifier (logits / T), so the exported graphs emit calibrated scores."""
    with torch.no_grad():
        for j, lab in enumerate(CANDIDATES):
            model.classifier.weight[j] /= temps[lab]
            model.classifier.bias[j] /= temps[lab]


def crisis_threshold(val, vp):
    """The self-harm operating point: recall first, within an everyday-chat budget. The lowest threshold that flags
    at most EVERYDAY_BUDGET of the validation rows where the label is implausible (the weak negatives: SMS ham,
    Davidson `neither`, ConvAbuse non-abusive turns), so that a recall-first label does not flag greetings; its
    recall is measured on the validation rows that annotate self-harm, the synthetic crisis statements and their
    contrasts included (the only real positives are assistant prompts)."""
    c, j = IDX[CRISIS_LABEL], CANDIDATES.index(CRISIS_LABEL)
    everyday = [i for i, e in enumerate(val) if 0.0 < e["w"][c] < 1.0 and e["y"][c] == 0.0]
    t = float(np.quantile(vp[everyday, j], 1 - EVERYDAY_BUDGET)) if everyday else 0.5
    sel = [i for i, e in enumerate(val) if e["w"][c] == 1.0]
    y = np.array([val[i]["y"][c] for i in sel])
    pred = vp[sel, j] >= t
    prec = float((pred & (y == 1)).sum() / max(1, pred.sum()))
    return dict(threshold=round(t, 4), tier=f"recall first, at most {EVERYDAY_BUDGET:.0%} of everyday chat flagged",
                val_precision=prec, val_recall=float(pred[y == 1].mean()), val_f1=None, rows=len(sel),
                positives=int(y.sum()), everyday_rows=len(everyday))


def selfharm_eval(cases, probs, labels, thresholds):
    """The self-harm contrast set: per kind, how often `self-harm` fires, and recall / false-flag rate overall."""
    if CRISIS_LABEL not in labels:
        return None
    j = labels.index(CRISIS_LABEL)
    fired = probs[:, j] >= thresholds[CRISIS_LABEL]
    kinds = {}
    for c, f in zip(cases, fired):
        k = kinds.setdefault(c["kind"], dict(n=0, fires=0, expected=int(c["self_harm"])))
        k["n"] += 1; k["fires"] += int(f)
    pos = [f for c, f in zip(cases, fired) if c["self_harm"]]
    neg = [f for c, f in zip(cases, fired) if not c["self_harm"]]
    return dict(kinds={k: dict(v, rate=v["fires"] / v["n"]) for k, v in sorted(kinds.items())},
                recall=float(np.mean(pos)) if pos else None, false_flag_rate=float(np.mean(neg)) if neg else None,
                n=len(cases), threshold=thresholds[CRISIS_LABEL])


def selfharm_cases(path):
    """The self-harm contrast set's cases (JSON Lines: text, kind, self_harm), or None when the file is not there."""
    if not path or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def functional_cases(path):
    """The functional set's cases, or None when the file is not there."""
    return load_cases(path) if os.path.isfile(path) else None


def probs_of(path_or_model, seqs):
    m = torch.jit.load(path_or_model) if isinstance(path_or_model, str) else path_or_model
    return predict(m, seqs)


def ablation_results(args, labels, cases):
    """The short ablation runs (made with --ablate; WORK_DIR/ablation.json), each arm's checkpoint also scored on
    the functional set with the arm's own normalisation and validation thresholds."""
    abl_path = os.path.join(args.work_dir, "ablation.json")
    if not os.path.isfile(abl_path):
        return None
    abl = json.load(open(abl_path))
    if getattr(args, "card_only", False):
        recompute_ablation_val(args, abl)
    for r in abl.values():
        if cases and os.path.isfile(r.get("state_dict", "")):
            am = ModerationModel(load_bert(base_model_dir()), len(CANDIDATES))
            am.load_state_dict(torch.load(r["state_dict"]))
            am = export.ship_model(am, labels).eval()
            nf = NORMALIZERS[r.get("norm", "platform-v1")]  # the arm's own normalisation
            pa = predict(export.build_variant(am, "bf16"), encode_texts([c["text"] for c in cases], nf, args.max_len))
            r["functional"] = functional_eval(cases, pa, labels, {l: r["thresholds"][l] for l in labels})
    log("ablations", {a: (r.get("functional") or {}).get("hate_acc") for a, r in abl.items()})
    return abl


def recompute_ablation_val(args, abl):
    """Re-scores every arm's checkpoint on the validation split with the current evaluation rules, so that arms
    run at different times are compared by the same metrics (thresholds re-chosen on validation per arm)."""
    splits = {}
    for arm, r in abl.items():
        if not os.path.isfile(r.get("state_dict", "")):
            continue
        norm = r.get("norm", "platform-v1")
        if norm not in splits:
            os.environ["WARDEN_TRAIN_NORMALIZATION"] = norm
            splits[norm] = load_data(args)[0]["val"]
            os.environ.pop("WARDEN_TRAIN_NORMALIZATION", None)
        val = splits[norm]
        am = ModerationModel(load_bert(base_model_dir()), len(CANDIDATES))
        am.load_state_dict(torch.load(r["state_dict"]))
        vp = predict(export.build_variant(am.eval(), "bf16"), [e["ids"] for e in val])
        tsel = choose_thresholds(val, vp, CANDIDATES)
        th = {l: tsel[l]["threshold"] for l in CANDIDATES}
        m = metrics_table(val, vp, th, CANDIDATES)
        r["val"] = summary(m)
        r["synthetic_val"] = synthetic_rates(val, vp, th, CANDIDATES)
        r["thresholds"] = th
        log(f"ablation {arm}: validation re-scored ({norm})")


def card_only(args):
    """Re-reads the ablation results (WORK_DIR/ablation.json) into the run's results file (OUT/results.json);
    the caller renders manifest.json and MODEL_CARD.md from it again."""
    path = results.path_in(args.out)
    b = results.read(path)
    b["ablations"] = results.shareable_ablations(ablation_results(args, b["labels"], functional_cases(args.functional)))
    results.write(path, b)
    log("results rewritten with the ablations")
    return b


def hand_written_sets(args, new, previous):
    """The functional set and the self-harm contrast set, scored by this model (`new`: file, normalisation, labels,
    thresholds) and by each previous one; (functional, selfharm), each None when its file is absent."""
    cases, crisis_cases = functional_cases(args.functional), selfharm_cases(args.selfharm)
    func = dict(path=os.path.relpath(args.functional, REPO)) if cases else None
    crisis = dict(path=os.path.relpath(args.selfharm, REPO)) if crisis_cases else None
    models = [("new", *new)] + [(n, pm["file"], pm["norm"], pm["labels"], pm["thresholds"]) for n, pm in previous.items()]
    for name, file, norm, labs, ths in models:
        if cases:
            pc = probs_of(file, encode_texts([c["text"] for c in cases], NORMALIZERS[norm], args.max_len))
            func[name] = functional_eval(cases, pc, labs, ths)
        if crisis_cases:
            pc = probs_of(file, encode_texts([c["text"] for c in crisis_cases], NORMALIZERS[norm], args.max_len))
            crisis[name] = selfharm_eval(crisis_cases, pc, labs, ths)
    log("functional", {k: (v["hate_acc"], v["flagged_on_hateful"]) for k, v in (func or {}).items() if k != "path"})
    log("self-harm contrast set", {k: (v or {}).get("recall") for k, v in (crisis or {}).items() if k != "path"})
    return func, crisis


def refresh(args):
    """Re-reads what may have changed since the run (the cross-source results, the functional set, the self-harm
    contrast set) into OUT/results.json, scoring the shipped model.pt and the previous models again; the caller
    renders manifest.json and MODEL_CARD.md from it."""
    path = results.path_in(args.out)
    b = results.read(path)
    previous = {}
    for name, folder in previous_models(args):
        man = json.load(open(os.path.join(folder, "manifest.json")))
        previous[name] = dict(file=os.path.join(folder, "model.pt"), norm=man.get("text_normalization", "platform-v1"),
                              labels=[ALIASES.get(l, l) for l in man["labels"]],
                              thresholds={ALIASES.get(k, k): v for k, v in man["thresholds"].items()})
    b["functional"], b["selfharm"] = hand_written_sets(
        args, (os.path.join(args.out, "model.pt"), b["norm"], b["labels"], b["thresholds"]), previous)
    cross = None
    for work_dir in [args.work_dir] + list(getattr(args, "more_work_dirs", None) or []):
        cs_path = os.path.join(work_dir, "crosssource.json")
        if os.path.isfile(cs_path):  # folds run in several processes: their arms are merged
            part = json.load(open(cs_path))
            if cross is None:
                cross = part
            else:
                for arm, entry in part["arms"].items():
                    cross["arms"].setdefault(arm, dict(folds={}))["folds"].update(entry["folds"])
    if cross:
        for entry in cross["arms"].values():
            crosssource.aggregate(entry)
        b["crosssource"] = cross
    if getattr(args, "with_test_split", False):
        b["final"], b["synth"] = test_split_metrics(args, os.path.join(args.out, "model.pt"), b["labels"], b["thresholds"])
    results.write(path, b)
    log("results refreshed")
    return b


def test_split_metrics(args, model_file, labels, thresholds):
    """The in-distribution test tables (per source and label, and the synthetic rows' flag rates) of the shipped model
    at the thresholds it ships with: recomputed when a threshold rule changes after the run (loads the data)."""
    split, _ = load_data(args)
    test = split["test"]
    for e in test:
        if e["source"] == "edos" and e["strat"] == "none" and "ew" not in e:
            e["ew"] = md.eval_weights(e)
    probs = probs_of(model_file, [e["ids"] for e in test])
    log(f"test split scored again ({len(test)} rows) at the shipped thresholds")
    return metrics_table(test, probs, thresholds, labels), synthetic_rates(test, probs, thresholds, labels)


def finish(args, model, split, data_stats, meta):
    """Everything after training; returns the run's results (also written to OUT/results.json)."""
    t_post = time.time()
    wd = args.work_dir
    norm_name = md.normalizer_name()
    val, test = split["val"], split["test"]
    for e in val + test:  # evaluation weights (also set by moderation_data for runs that load data anew)
        if e["source"] == "edos" and e["strat"] == "none" and "ew" not in e:
            e["ew"] = md.eval_weights(e)
    # ---- all candidate labels, bf16 graph: calibration, the ship decision and the thresholds
    full_bf16 = os.path.join(wd, "model-bf16-all-candidates.pt")
    export.build_variant(model, "bf16").save(full_bf16)
    vp_raw = probs_of(full_bf16, [e["ids"] for e in val])
    tp_raw = probs_of(full_bf16, [e["ids"] for e in test])
    log("predicted val/test with all candidates")
    temps = fit_temperatures(val, vp_raw)
    log("temperatures", temps)
    vp_all, tp_all = apply_temperatures(vp_raw, temps, CANDIDATES), apply_temperatures(tp_raw, temps, CANDIDATES)
    scale_head(model, temps)
    th_all = choose_thresholds(val, vp_all, CANDIDATES)
    th_all[CRISIS_LABEL] = crisis_threshold(val, vp_all)
    m_val = metrics_table(val, vp_all, {l: th_all[l]["threshold"] for l in CANDIDATES}, CANDIDATES)
    m_test = metrics_table(test, tp_all, {l: th_all[l]["threshold"] for l in CANDIDATES}, CANDIDATES)
    m_test_raw = metrics_table(test, tp_raw, {l: th_all[l]["threshold"] for l in CANDIDATES}, CANDIDATES)
    ece = {s: {l: dict(before=m_test_raw[s][l].get("ece"), after=m_test[s][l].get("ece"), n=m_test[s][l]["n"])
               for l in CANDIDATES if m_test[s].get(l, {}).get("positives")} for s in m_test}
    bar = SPEC.ship_bar
    decision = {}
    for l in CANDIDATES:
        t, v = m_test["all"][l], m_val["all"][l]
        ok = (t.get("pr_auc", 0) >= bar.min_pr_auc and t["positives"] >= bar.min_test_positives
              and v.get("pr_auc", 0) >= bar.min_pr_auc)
        decision[l] = dict(ship=bool(ok), test_pr_auc=t.get("pr_auc"), test_roc_auc=t.get("roc_auc"),
                           test_positives=t["positives"], test_n=t["n"], val_pr_auc=v.get("pr_auc"))
    labels = [l for l in CANDIDATES if decision[l]["ship"]]
    for must in SPEC.v1_labels:  # the labels Warden's API promises are kept; reported honestly
        if must not in labels:
            labels.insert(CANDIDATES.index(must), must)
            decision[must]["kept_although_below_bar"] = True
    labels = [l for l in CANDIDATES if l in labels]
    log("ship decision", {l: (d["ship"], round(d["test_pr_auc"] or 0, 3), d["test_positives"]) for l, d in decision.items()})
    cols = [CANDIDATES.index(l) for l in labels]
    thresholds = {l: th_all[l]["threshold"] for l in labels}
    th = {l: th_all[l] for l in labels}
    shipped = export.ship_model(model, labels)
    torch.save(shipped.state_dict(), os.path.join(wd, "shipped-fp32-state_dict.pt"))

    # ---- variants
    variants = {}
    rng = random.Random(args.seed)
    sub_idx = sorted(rng.sample(range(len(test)), min(1500, len(test))))
    sub_seqs = [test[i]["ids"] for i in sub_idx]
    for name in ("fp32", "bf16"):
        path = os.path.join(wd, f"model-{name}.pt")
        export.build_variant(shipped, name).save(path)
        delta = export.check_shapes(path, shipped, tol=1e-4 if name == "fp32" else 0.2, n_labels=len(labels))
        variants[name] = dict(file=path, size_mb=round(os.path.getsize(path) / 1e6, 1), shape_check_delta=delta)
    variants["bf16"]["probs"] = tp_all[:, cols]
    fast_err = None
    try:
        from train import fast_graph
        path = os.path.join(wd, "model-fast.pt")
        fast_graph.export_fast(shipped.state_dict(), path)
        delta = export.check_shapes(path, shipped, tol=0.2, n_labels=len(labels))
        variants["fast"] = dict(file=path, size_mb=round(os.path.getsize(path) / 1e6, 1), shape_check_delta=delta,
                                probs=probs_of(path, [e["ids"] for e in test]))
    except Exception as ex:  # noqa: BLE001
        fast_err = f"{type(ex).__name__}: {ex}"
        log("fast variant failed", fast_err)
    fp_sub = probs_of(variants["fp32"]["file"], sub_seqs)
    sub_ex = [test[i] for i in sub_idx]
    m_fp = metrics_table(sub_ex, fp_sub, thresholds, labels)
    for name, v in variants.items():
        if name == "fp32":
            v.update(max_auc_drop_vs_fp32_subset=0.0, max_abs_prob_delta_vs_fp32_subset=0.0)
            continue
        ps = v["probs"][sub_idx]
        mv = metrics_table(sub_ex, ps, thresholds, labels)
        v["max_auc_drop_vs_fp32_subset"] = max((m_fp["all"][l].get("roc_auc") or 0) - (mv["all"][l].get("roc_auc") or 0)
                                               for l in labels)
        v["max_abs_prob_delta_vs_fp32_subset"] = float(np.abs(ps - fp_sub).max())
    if args.precision == "auto":
        default = "fast" if "fast" in variants and variants["fast"]["max_auc_drop_vs_fp32_subset"] <= 0.005 else "bf16"
    else:
        default = args.precision
    if default == "fp32":
        variants["fp32"]["probs"] = probs_of(variants["fp32"]["file"], [e["ids"] for e in test])
    log("default variant", default,
        {n: (v["size_mb"], round(v.get("max_auc_drop_vs_fp32_subset", 0), 4)) for n, v in variants.items()})
    shutil.copyfile(variants[default]["file"], os.path.join(args.out, "model.pt"))
    final = metrics_table(test, variants[default]["probs"], thresholds, labels)
    synth = synthetic_rates(test, variants[default]["probs"], thresholds, labels)

    # ---- the previous models on the same rows, each with its own normalisation and thresholds
    previous = {}
    models = previous_models(args)
    for k, (name, folder) in enumerate(models):
        man = json.load(open(os.path.join(folder, "manifest.json")))
        previous[name] = dict(version=man.get("version"), file=os.path.join(folder, "model.pt"),
                              norm=man.get("text_normalization", "platform-v1"),
                              labels=[ALIASES.get(l, l) for l in man["labels"]],
                              thresholds={ALIASES.get(k2, k2): v for k2, v in man["thresholds"].items()})
        if k == len(models) - 1:  # the test split: the latest previous model only (earlier ones: hand-written sets)
            pp, plabels, pth, _ = previous_probs(folder, test, args.max_len)
            previous[name].update(final=metrics_table(test, pp, pth, plabels), synth=synthetic_rates(test, pp, pth, plabels))
            log(f"{name} evaluated on the test split")

    # ---- obfuscated test rows (robustness): harassment/hate on a fixed obfuscated copy of abuse-annotated test rows
    orng = random.Random(args.seed + 7)
    pool = [e for e in test if e["source"] in ("davidson", "edos", "hatemoji", "convabuse", "implicit", "toxichat", "civil")]
    pool = orng.sample(pool, min(1500, len(pool)))
    obf_texts = []
    for e in pool:
        try:
            obf_texts.append(obfuscation.obfuscate(raw_text(e), orng))
        except Exception:  # noqa: BLE001
            obf_texts.append(raw_text(e))
    obf_ex = [dict(e, source=e["source"], text=t) for e, t in zip(pool, obf_texts)]
    p_new = probs_of(variants[default]["file"], encode_texts(obf_texts, md.normalizer(), args.max_len))
    idx = {id(e): i for i, e in enumerate(test)}
    p_clean = variants[default]["probs"][[idx[id(e)] for e in pool]]
    mo = metrics_table(obf_ex, p_new, thresholds, labels)
    mc = metrics_table(pool, p_clean, thresholds, labels)
    obf = {l: dict(new=mo["all"][l].get("roc_auc"), new_clean=mc["all"][l].get("roc_auc"), n=mo["all"][l]["n"])
           for l in ("harassment", "hate") if l in labels}
    for name, pm in previous.items():
        if "final" not in pm:
            continue
        pp = probs_of(pm["file"], encode_texts(obf_texts, NORMALIZERS[pm["norm"]], args.max_len))
        mp = metrics_table(obf_ex, pp, pm["thresholds"], pm["labels"])
        for l in obf:
            obf[l][name] = mp["all"].get(l, {}).get("roc_auc") if l in pm["labels"] else None
    log("obfuscated test rows", obf)

    # ---- functional set and self-harm contrast set: this model and the previous ones
    func, crisis = hand_written_sets(args, (variants[default]["file"], norm_name, labels, thresholds), previous)
    cases = functional_cases(args.functional)

    # ---- the cross-source evaluation (train.crosssource, run before this) and ablations
    cs_path = os.path.join(wd, "crosssource.json")
    cross = json.load(open(cs_path)) if os.path.isfile(cs_path) else None
    abl = ablation_results(args, labels, cases)

    # ---- speed: the previous model vs this one, interleaved in one process
    last = list(previous.items())[-1] if previous else None
    bench_files = ([last[1]["file"]] if last else []) + [variants[default]["file"]]
    bench_names = ([f"{last[0]} ({last[1]['version']})"] if last else []) + [f"new ({default})"]
    bench_norms = ([last[1]["norm"]] if last else []) + [norm_name]
    speed = None
    try:
        sp = export.bench(bench_files, args.bench_threads, args.bench_calls, args.bench_corpus, bench_norms)
        speed = dict(loadavg=sp.pop("loadavg"), rows={n: sp[f] for n, f in zip(bench_names, bench_files)})
        log("speed", speed)
    except Exception as ex:  # noqa: BLE001
        log("bench failed", ex)

    # ---- golden
    golden_stats = export.write_golden(args.golden, os.path.join(args.out, "model.pt"), test, labels, args.max_len,
                                       args.seed, GOLDEN_PER_SOURCE, norm_name)
    log("golden", golden_stats)
    wall_post = time.time() - t_post
    bundle = dict(labels=labels, decision=decision, thresholds=thresholds, th=th, temperatures=temps, ece=ece,
                  variants={n: {k: v[k] for k in v if k not in ("probs", "file")} for n, v in variants.items()},
                  default=default, fast_error=fast_err, final=final, synth=synth,
                  previous={n: {k: v for k, v in pm.items() if k != "file"} for n, pm in previous.items()},
                  obfuscated=obf, functional=func, selfharm=crisis, crosssource=cross,
                  ablations=results.shareable_ablations(abl), speed=speed, golden=golden_stats,
                  data=data_stats, meta=meta, post_seconds=round(wall_post, 1), wall_seconds=round(time.time() - START, 1),
                  norm=norm_name, all_candidates_test=m_test["all"], all_candidates_val=m_val["all"], max_len=args.max_len,
                  bench_threads=args.bench_threads)
    results.write(results.path_in(args.out), bundle)
    return bundle
