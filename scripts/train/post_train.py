"""The second half of the pipeline: the ship decision, thresholds, export of the variants, v1 and v2 evaluated on
the same splits and on the functional set, speed and the golden file. It returns the run's results (results.py),
from which card.py renders the manifest and MODEL_CARD.md; it imports nothing from the first half (fit.py)."""
from __future__ import annotations

import json
import os
import random
import shutil
import time

import numpy as np
import torch

from train import export, results
from train import moderation_data as md
from train.bert_encoder import ModerationModel, load_bert
from train.common import START, encode_texts, log, predict, raw_text
from train.metrics import choose_thresholds, functional_eval, metrics_table, summary, synthetic_rates
from train.spec import CANDIDATES, SPEC
from train.splits import load_data
from warden_tools import obfuscation
from warden_tools.functional_io import load_cases
from warden_tools.paths import REPO
from warden_tools.tokenizer_reference import base_model_dir
from warden_tools.warden_text import NORMALIZERS, normalize_platform_v1

V1_DEFAULT_MANIFEST = {"thresholds": {"toxic": 0.3333, "hate": 0.6237, "spam": 0.756}}  # v1.0.0's thresholds
GOLDEN_PER_SOURCE = {"davidson": 50, "convabuse": 30, "sms": 30, "edos": 50, "hatemoji": 40, "ailuminate": 24, "sst": 6,
                     "xstest": 10}


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


def finish(args, model, split, data_stats, meta):
    """Everything after training; returns the run's results (also written to OUT/results.json)."""
    t_post = time.time()
    wd = args.work_dir
    norm_name = md.normalizer_name()
    val, test = split["val"], split["test"]
    for e in val + test:  # evaluation weights (also set by moderation_data for runs that load data anew)
        if e["source"] == "edos" and e["strat"] == "none" and "ew" not in e:
            e["ew"] = md.eval_weights(e)
    # ---- all candidate labels, bf16 graph: the ship decision and the thresholds
    full_bf16 = os.path.join(wd, "model-bf16-all-candidates.pt")
    export.build_variant(model, "bf16").save(full_bf16)
    vp_all = probs_of(full_bf16, [e["ids"] for e in val])
    tp_all = probs_of(full_bf16, [e["ids"] for e in test])
    log("predicted val/test with all candidates")
    th_all = choose_thresholds(val, vp_all, CANDIDATES)
    m_val = metrics_table(val, vp_all, {l: th_all[l]["threshold"] for l in CANDIDATES}, CANDIDATES)
    m_test = metrics_table(test, tp_all, {l: th_all[l]["threshold"] for l in CANDIDATES}, CANDIDATES)
    bar = SPEC.ship_bar
    decision = {}
    for l in CANDIDATES:
        t, v = m_test["all"][l], m_val["all"][l]
        ok = (t.get("pr_auc", 0) >= bar.min_pr_auc and t["positives"] >= bar.min_test_positives
              and v.get("pr_auc", 0) >= bar.min_pr_auc)
        decision[l] = dict(ship=bool(ok), test_pr_auc=t.get("pr_auc"), test_roc_auc=t.get("roc_auc"),
                           test_positives=t["positives"], test_n=t["n"], val_pr_auc=v.get("pr_auc"))
    labels = [l for l in CANDIDATES if decision[l]["ship"]]
    for must in SPEC.v1_labels:  # v1's labels are kept (Warden's API promises them); reported honestly
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
    synth_v2 = synthetic_rates(test, variants[default]["probs"], thresholds, labels)

    # ---- v1 on the same rows
    v1_file = args.v1_model or os.path.join(wd, "v1-model.pt")
    if not os.path.isfile(v1_file):
        v1_file = os.path.join("/tmp", "warden-v2", "v1-model.pt")
    v1_manifest_path = os.path.join(os.path.dirname(v1_file), "v1-manifest.json")
    v1_manifest = json.load(open(v1_manifest_path)) if os.path.isfile(v1_manifest_path) else V1_DEFAULT_MANIFEST
    v1_th = v1_manifest["thresholds"]
    v1_labels = list(SPEC.v1_labels)
    v1_test = export.v1_probs(v1_file, test, args.max_len)
    v1_final = metrics_table(test, v1_test, v1_th, v1_labels)
    synth_v1 = synthetic_rates(test, v1_test, v1_th, v1_labels)
    log("v1 evaluated on the v2 test split")

    # ---- obfuscated test rows (robustness): toxic/hate on a fixed obfuscated copy of abuse-annotated test rows
    orng = random.Random(args.seed + 7)
    pool = [e for e in test if e["source"] in ("davidson", "edos", "hatemoji", "convabuse")]
    pool = orng.sample(pool, min(1500, len(pool)))
    obf_texts = []
    for e in pool:
        try:
            obf_texts.append(obfuscation.obfuscate(raw_text(e), orng))
        except Exception:  # noqa: BLE001
            obf_texts.append(raw_text(e))
    obf_ex = [dict(e) for e in pool]
    v2s = encode_texts(obf_texts, md.normalizer(), args.max_len)
    v1s = encode_texts(obf_texts, normalize_platform_v1, args.max_len)
    p2 = probs_of(variants[default]["file"], v2s)
    p1 = probs_of(v1_file, v1s)
    p2c = variants[default]["probs"][[test.index(e) for e in pool]] if len(pool) < 3000 else None
    mo2 = metrics_table(obf_ex, p2, thresholds, labels)
    mo1 = metrics_table(obf_ex, p1, v1_th, v1_labels)
    mc2 = metrics_table(obf_ex, p2c, thresholds, labels) if p2c is not None else None
    obf = {l: dict(v1=mo1["all"][l].get("roc_auc"), v2=mo2["all"][l].get("roc_auc"),
                   v2_clean=(mc2["all"][l].get("roc_auc") if mc2 else None), n=mo2["all"][l]["n"])
           for l in ("toxic", "hate")}
    log("obfuscated test rows", obf)

    # ---- functional set
    func = None
    cases = functional_cases(args.functional)
    if cases:
        texts = [c["text"] for c in cases]
        p2 = probs_of(variants[default]["file"], encode_texts(texts, md.normalizer(), args.max_len))
        p1 = probs_of(v1_file, encode_texts(texts, normalize_platform_v1, args.max_len))
        func = dict(v2=functional_eval(cases, p2, labels, thresholds),
                    v1=functional_eval(cases, p1, v1_labels, v1_th), path=os.path.relpath(args.functional, REPO))
        log("functional", {k: (v["hate_acc"], v["flagged_on_hateful"]) for k, v in func.items() if k != "path"})

    # ---- ablations (short runs made earlier with --ablate; their checkpoints evaluated here on the functional set)
    abl = ablation_results(args, labels, cases)

    # ---- speed: v1 vs v2 (and the comparison variant), interleaved in one process
    bench_files = [v1_file, variants[default]["file"]] + ([variants["bf16"]["file"]] if default != "bf16" else [])
    bench_names = ["v1 (bf16)", f"v2 ({default})"] + (["v2 (bf16 graph)"] if default != "bf16" else [])
    bench_norms = ["platform-v1", norm_name] + ([norm_name] if default != "bf16" else [])
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
    bundle = dict(labels=labels, decision=decision, thresholds=thresholds, th=th, variants={
        n: {k: v[k] for k in v if k not in ("probs", "file")} for n, v in variants.items()}, default=default,
        fast_error=fast_err, final=final, v1_final=v1_final, v1_thresholds=v1_th, synth_v2=synth_v2, synth_v1=synth_v1,
        obfuscated=obf, functional=func, ablations=results.shareable_ablations(abl), speed=speed, golden=golden_stats,
        data=data_stats, meta=meta, post_seconds=round(wall_post, 1), wall_seconds=round(time.time() - START, 1),
        norm=norm_name, all_candidates_test=m_test["all"], all_candidates_val=m_val["all"], max_len=args.max_len,
        bench_threads=args.bench_threads)
    results.write(results.path_in(args.out), bundle)
    return bundle
