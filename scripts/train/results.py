"""The results file of a training run, results.json in the model folder: what post_train.py measured, and the one
input from which card.py renders manifest.json and MODEL_CARD.md. Keeping it next to the model means the card
can be rendered again from the shipped files alone (`python3 -m train.card`), without torch or the data.

Keys read by card.py (all JSON):
  labels, thresholds          the shipped labels and their thresholds
  th                          per shipped label: threshold, tier, validation precision / recall / F1
  decision                    per candidate label: the ship-bar figures (test and validation PR-AUC, ...)
  norm, max_len               the text normalisation and the model's max_sequence_length
  default, variants,          the shipped variant; per variant: size and the drift against fp32; the fast
  fast_error                  graph's export error (null when it exported)
  data                        per source: rows, kept, splits; synthetic counts; cross-source duplicates dropped
  temperatures, ece           per candidate label, its calibration temperature; per source and label, ECE before/after
  final, synth                test metrics per source and label; per synthetic kind, how often hate / harassment fire
  previous                    per earlier model (v1, v2): version, labels, thresholds, normalisation, and its `final`
                              and `synth` on the same rows
  crosssource                 the cross-source folds (crosssource.py): per arm the label x held-out source matrix, and
                              the previous model on the same rows (null when not run)
  obfuscated, functional,     obfuscated test rows; the functional set and the self-harm contrast set per model
  selfharm                    (`new`, `v1`, `v2`; null when absent)
  ablations                   the short --ablate runs (null when none), without their checkpoints
  speed, bench_threads        previous vs new per-message speed (null when it failed) and its thread count
  golden                      the golden file's statistics
  meta                        training: hyperparameters, history, kept epoch, machine, encoder parity, ...
  wall_seconds, wall_note     the whole pipeline's wall time, and an optional note printed after it
Written but not rendered: post_seconds, all_candidates_test, all_candidates_val.
"""
from __future__ import annotations

import json
import os

FILE_NAME = "results.json"
RENDERED_KEYS = ("labels", "thresholds", "th", "decision", "norm", "max_len", "default", "variants", "fast_error",
                 "data", "final", "synth", "previous", "temperatures", "ece", "crosssource", "obfuscated", "functional",
                 "selfharm", "ablations", "speed", "bench_threads", "golden", "meta", "wall_seconds")


def path_in(model_dir: str) -> str:
    return os.path.join(model_dir, FILE_NAME)


def shareable_ablations(ablations: dict | None) -> dict | None:
    """The ablation runs without what only the machine that ran them can use (checkpoint paths, step history)."""
    if not ablations:
        return ablations
    return {arm: {k: v for k, v in run.items() if k not in ("history", "state_dict")} for arm, run in ablations.items()}


def read(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        results = json.load(f)
    missing = [k for k in RENDERED_KEYS if k not in results]
    if missing:
        raise ValueError(f"{path}: not a results file of this pipeline, it lacks {', '.join(missing)}")
    return results


def write(path: str, results: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, ensure_ascii=False, default=float)
        f.write("\n")
