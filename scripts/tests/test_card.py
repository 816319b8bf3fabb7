"""The card and the manifest rendered from a results file: a small fixture, and the shipped model's."""
import copy
import json
import os

import pytest

from train import card, results
from warden_tools import paths

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "results_small.json")


@pytest.fixture
def small():
    return results.read(FIXTURE)


def test_the_small_fixture_renders(small):
    text = card.render_card(small)
    assert text.startswith("# minilm-moderation v3 — Warden's default moderation model\n")
    assert text.endswith("stay in the work directory (`--work-dir`).\n")
    lines = text.splitlines()
    assert "| `harassment` | `harassment` | insults, attacks and demeaning language aimed at a person or at the reader " \
           "(profanity alone is not harassment) | 0.2500 (precision>=0.8) | 1.25 |" in lines
    assert "| `spam` | – (Warden only) | unsolicited commercial / scam messages | 0.7000 (precision>=0.8) | 1.00 |" in lines
    assert "| `hate` | 0.500 | 0.750 | 10 / 80 | 0.450 | kept (promised label) |" in lines
    assert "| `violence` | 0.300 | 0.700 | 3 / 30 | – | **no** |" in lines
    assert "All 4 candidate labels were trained;" in text
    assert "| `harassment` | all | 100 | 40 | 0.850 | 0.900 | 0.800 | 0.800 | 0.700 | 0.700 | 0.050 | 0.050 |" in lines
    assert "| davidson | `spam` | 100 | 1.0% | 1.0% |" in lines
    assert "| negation | 4 | 75.0% | 25.0% | 100.0% | 50.0% |" in lines
    assert "| davidson | `harassment` | 100 | 0.100 | 0.060 |" in lines, "ECE before and after calibration"
    assert "train `harassment` as **dropped (masked: neither positive nor negative)**" in text
    assert "\nFast graph: not exported — RuntimeError: no packed entry point." in text
    assert "The functional set was not present when this card was generated." in lines
    assert "No cross-source results were present (run `python3 -m train.crosssource` first)." in lines
    assert "## Cross-source evaluation" not in text and "## A person in crisis" not in text
    assert "| bf16 (default) | 45.2 | 0.0002 | 0.0300 |" in lines
    assert "Per-message speed" not in text and "Encoder parity" not in text and "Obfuscated test rows" not in text
    assert "Golden file: 10 items (1 truncated), largest |p_bf16 − p_fp32| over them 0.0042" in text
    assert "| 1 | 10 | 0.5000 | 0.800 | – | – | – | 12.5 |" in lines
    assert "whole pipeline: **2.0 min**." in text
    assert "it fires on – of the AILuminate test prompts" in text
    assert '$' not in text.replace("$(/usr/bin/python3", "")


CROSS = {
    "folds": {"tweets": ["davidson"], "news comments": ["civil"]}, "eval_only": ["surge"], "steps": 300,
    "train_max_len": 64, "eval_cap": 1500, "batch_size": 32,
    "previous": {"version": "2.0.0", "trained_on": ["davidson"], "mean_roc_auc": 0.7,
                 "matrix": {"harassment": {"davidson": {"n": 50, "positives": 10, "roc_auc": 0.9, "pr_auc": 0.6}}}},
    "arms": {
        "v3": {"mean_roc_auc": 0.8, "folds": {"tweets": {}, "news comments": {}}, "matrix": {"harassment": {
            "davidson": {"n": 50, "positives": 10, "roc_auc": 0.8, "pr_auc": 0.5},
            "civil": {"n": 40, "positives": 40, "recall_at_0.5": 0.75}}}},
        "offensive_positive": {"mean_roc_auc": 0.75, "folds": {"tweets": {}}, "matrix": {"harassment": {
            "davidson": {"n": 50, "positives": 10, "roc_auc": 0.85, "pr_auc": 0.55}}}},
        "v3@50": {"mean_roc_auc": 0.78, "folds": {"tweets": {}, "news comments": {}}, "matrix": {}},
    },
}


def test_optional_parts_appear_with_their_data(small):
    r = copy.deepcopy(small)
    r["speed"] = {"loadavg": [1.0, 2.0, 3.0], "rows": {"v2 (2.0.0)": {"batch1": {"median_ms": 2.5},
                                                                       "batch32": {"median_ms": 300.0, "per_message_ms": 9.375}}}}
    r["meta"]["parity"] = {"reference": "transformers 4.40.2 BertModel", "texts": 300, "max_abs_delta_hidden_states": 3.4e-06}
    r["obfuscated"] = {"harassment": {"v2": 0.9, "new": 0.95, "new_clean": None, "n": 12}}
    r["wall_note"] = "one process"
    r["crosssource"] = CROSS
    r["selfharm"] = {"path": "Tests/Fixtures/selfharm/cases.jsonl",
                     "new": {"n": 4, "recall": 1.0, "false_flag_rate": 0.5, "threshold": 0.2,
                             "kinds": {"first_person_intent": {"n": 2, "fires": 2, "expected": 1, "rate": 1.0},
                                       "support": {"n": 2, "fires": 1, "expected": 0, "rate": 0.5}}},
                     "v2": {"n": 4, "recall": 0.0, "false_flag_rate": 0.0, "threshold": 0.9,
                            "kinds": {"first_person_intent": {"n": 2, "fires": 0, "expected": 1, "rate": 0.0}}}}
    text = card.render_card(r)
    lines = text.splitlines()
    assert "Load average during the run: 1.00, 2.00, 3.00.\n" in text
    assert "| v2 (2.0.0) | 2.50 | 300.0 | 9.38 |" in text
    assert "Encoder parity: `scripts/train/bert_encoder.py` vs transformers 4.40.2 BertModel on 300 validation " \
           "texts, max |Δ| of the last hidden states 3.40e-06.\n" in text
    assert "| `harassment` | 12 | 0.900 | 0.950 | – |" in text
    assert "whole pipeline: **2.0 min** (one process).\n" in text
    assert "| `harassment` | davidson | 50 | 10 | 0.800 / 0.500 | – | 0.850 / 0.550 | 0.900 / 0.600 ✱ |" in lines
    assert "| `harassment` | civil | 40 | 40 | 75.0% ≥ 0.5 | – | – | – |" in lines
    assert "Folds: tweets (davidson); news comments (civil)." in lines
    assert "| 50 % | 0.780 |" in lines and "| 25 % | – |" in lines and "| 100 % | 0.800 |" in lines
    assert "Mean ROC-AUC over the held-out `harassment` and `hate` cells: v3 recipe **0.800**, offensive as harassment " \
           "**0.750** (1 of 2 folds), v2 shipped 0.700 (partly in-distribution). An arm cut short" in text
    assert "| offensive_positive | Davidson `offensive` tweets as `harassment` positives | 0.750 | " \
           "`harassment` davidson +0.050 | – |" in lines
    assert "Recall on crisis statements: **0.0% (v2) → 100.0% (v3)**; false flags on the contrasts: 0.0% → 50.0%." in lines
    assert "| first_person_intent | yes | 2 | 0.0% | 100.0% |" in lines and "| support | no | 2 | – | 50.0% |" in lines


def test_the_manifest(small):
    m = card.render_manifest(small)
    assert m["labels"] == ["harassment", "hate", "spam"] and m["max_sequence_length"] == 128
    assert m["version"] == "3.0.0"
    assert m["openai_categories"] == {"harassment": "harassment", "hate": "hate"}
    assert m["label_aliases"] == {"toxic": "harassment"}
    assert m["precision"] == "bf16" and "packed_entry_point" not in m
    assert m["training"]["candidates"][:3] == ["harassment", "hate", "spam"]
    assert m["training"]["temperatures"]["harassment"] == 1.25
    fast = dict(small, default="fast")
    assert card.render_manifest(fast)["packed_entry_point"] == "forward_packed"
    json.dumps(m)  # plain JSON


def test_the_text_speaks_of_the_product_only(small):
    shipped = results.read(results.path_in(paths.DEFAULT_MODEL))
    for r in (small, shipped):
        text = card.render_card(r) + json.dumps(card.render_manifest(r))
        # Spelled in pieces, so that this file holds none of the words it looks for.
        for word in ("iss" "ue ", "/wo" "rk/", "../sha" "red", "agents", "/tmp/warden-train2"):
            assert word not in text, word


def test_the_shipped_card_and_manifest_are_what_their_results_render():
    model = paths.DEFAULT_MODEL
    rendered = card.rendered_files(results.read(results.path_in(model)))
    for name, content in rendered.items():
        with open(os.path.join(model, name), encoding="utf-8") as f:
            assert f.read() == content, f"{name}: run PYTHONPATH=scripts python3 -m train.card"


def test_check_mode(tmp_path, small, capsys):
    results.write(str(tmp_path / "results.json"), small)
    assert card.main(["--model", str(tmp_path), "--check"]) == 1
    assert card.main(["--model", str(tmp_path)]) == 0
    assert card.main(["--model", str(tmp_path), "--check"]) == 0
    assert "are what results.json renders" in capsys.readouterr().out


def test_a_results_file_lacking_keys_is_refused(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"labels": []}')
    with pytest.raises(ValueError, match="lacks thresholds"):
        results.read(str(path))


def test_the_template_blocks():
    blocks = card.load_blocks()
    assert {"intro", "labels", "data", "crosssource", "metrics", "calibration", "obfuscated", "functional_heading",
            "functional", "functional_missing", "selfharm", "ablation_heading", "ablation", "ablation_missing", "variants",
            "fast_error", "speed", "golden", "training", "parity", "shortcuts", "limits", "rebuild"} == set(blocks)


def test_a_template_without_its_end_marker_is_refused(tmp_path):
    path = tmp_path / "t.md"
    path.write_text("<!-- block: intro -->\nhello\n")
    with pytest.raises(ValueError, match="end"):
        card.load_blocks(str(path))
    path.write_text("<!-- block: intro -->\nhello\n\n<!-- end -->\n")
    assert card.load_blocks(str(path))["intro"].template == "hello\n"


def test_shareable_ablations_drop_the_machine_only_parts():
    abl = {"full": {"history": [1], "state_dict": "/tmp/x.pt", "thresholds": {"toxic": 0.5}}}
    assert results.shareable_ablations(abl) == {"full": {"thresholds": {"toxic": 0.5}}}
    assert results.shareable_ablations(None) is None
