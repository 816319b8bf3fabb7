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
    assert text.startswith("# minilm-moderation v2 — Warden's default moderation model\n")
    assert text.endswith("stay in the work directory (`--work-dir`).\n")
    lines = text.splitlines()
    assert "| `toxic` | `harassment` | abusive, insulting, harassing or hateful text aimed at someone (insults, slurs, " \
           "sexual harassment, threats) | 0.2500 (precision>=0.9) |" in lines
    assert "| `spam` | – (Warden only) | unsolicited commercial / scam messages | 0.7000 (precision>=0.8) |" in lines
    assert "| `hate` | 0.500 | 0.750 | 10 / 80 | 0.450 | kept (v1 label) |" in lines
    assert "| `violence` | 0.300 | 0.700 | 3 / 30 | – | **no** |" in lines
    assert "All 4 candidate labels were trained;" in text
    assert "| `toxic` | all | 100 | 40 | 0.850 | 0.900 | 0.800 | 0.800 | 0.700 | 0.700 | 0.050 | 0.050 |" in lines
    assert "| davidson | `spam` | 100 | 1.0% | 1.0% |" in lines
    assert "| negation | 4 | 75.0% | 25.0% | 100.0% | 50.0% |" in lines
    assert "| synthetic (scripts/train/synth_data.py) | templates over the rows above | as their source rows | 4 | 3/0/1 |" \
        in lines
    assert "\nFast graph: not exported — RuntimeError: no packed entry point." in text
    assert "The functional set was not present when this card was generated." in lines
    assert "No ablation results were present (run `--ablate baseline,meaning` first)." in lines
    assert "| bf16 (default) | 45.2 | 0.0002 | 0.0300 |" in lines
    assert "Per-message speed" not in text and "Encoder parity" not in text and "Obfuscated test rows" not in text
    assert "Golden file: 10 items (1 truncated), largest |p_bf16 − p_fp32| over them 0.0042" in text
    assert "| 1 | 10 | 0.5000 | 0.800 | – | – | – | 12.5 |" in lines
    assert "whole pipeline: **2.0 min**." in text
    assert "it fires on 35.0% of the AILuminate test prompts" in text and "fires on – of the AILuminate" in text
    assert '$' not in text.replace("$(/usr/bin/python3", "")


def test_optional_parts_appear_with_their_data(small):
    r = copy.deepcopy(small)
    r["speed"] = {"loadavg": [1.0, 2.0, 3.0], "rows": {"v1 (bf16)": {"batch1": {"median_ms": 2.5},
                                                                      "batch32": {"median_ms": 300.0, "per_message_ms": 9.375}}}}
    r["meta"]["parity"] = {"reference": "transformers 4.40.2 BertModel", "texts": 300, "max_abs_delta_hidden_states": 3.4e-06}
    r["obfuscated"] = {"toxic": {"v1": 0.9, "v2": 0.95, "v2_clean": None, "n": 12}}
    r["wall_note"] = "one process"
    text = card.render_card(r)
    assert "Load average during the run: 1.00, 2.00, 3.00.\n" in text
    assert "| v1 (bf16) | 2.50 | 300.0 | 9.38 |" in text
    assert "Encoder parity: `scripts/train/bert_encoder.py` vs transformers 4.40.2 BertModel on 300 validation " \
           "texts, max |Δ| of the last hidden states 3.40e-06.\n" in text
    assert "| `toxic` | 12 | 0.900 | 0.950 | – |" in text
    assert "whole pipeline: **2.0 min** (one process).\n" in text


def test_the_manifest(small):
    m = card.render_manifest(small)
    assert m["labels"] == ["toxic", "hate", "spam"] and m["max_sequence_length"] == 128
    assert m["openai_categories"] == {"toxic": "harassment", "hate": "hate"}
    assert m["precision"] == "bf16" and "packed_entry_point" not in m
    assert m["training"]["candidates"][:3] == ["toxic", "hate", "spam"]
    assert m["training"]["ablations"] == {}
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
    assert {"intro", "labels", "data", "metrics", "obfuscated", "functional_heading", "functional", "functional_missing",
            "ablation_heading", "ablation", "ablation_missing", "variants", "fast_error", "speed", "golden", "training",
            "parity", "shortcuts", "limits", "rebuild"} == set(blocks)


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
