import copy
import tomllib

import pytest

from train import spec
from train.spec import CANDIDATES, IDX, SOURCES, SPEC, WEAK, SpecError


def raw():
    with open(spec.SPEC_FILE, "rb") as f:
        return tomllib.load(f)


def test_the_spec_loads():
    assert CANDIDATES == ["harassment", "hate", "spam", "harassment/threatening", "hate/threatening", "violence",
                          "illicit", "self-harm", "sexual", "sexual/minors"]
    assert IDX["spam"] == 2 and WEAK == 0.3
    assert SOURCES == ["davidson", "convabuse", "sms", "edos", "hatemoji", "ailuminate", "sst", "xstest", "toxigen",
                       "implicit", "misogyny", "ethos", "toxichat", "civil", "surge"]
    assert list(SPEC.v1_labels) == ["harassment", "hate", "spam"]
    assert "spam" not in SPEC.openai_categories
    assert all(SPEC.openai_categories[label] == label for label in CANDIDATES if label != "spam"), "named by category"
    assert SPEC.davidson_offensive in spec.DAVIDSON_OFFENSIVE_POLICIES
    assert all(SPEC.meanings[label] for label in CANDIDATES)
    assert all(s.platform and s.licence and s.attribution for s in SPEC.sources)


def test_quotas_keep_their_order_and_kinds():
    assert list(SPEC.quotas) == ["davidson", "edos", "hatemoji", "convabuse", "sms", "ailuminate", "sst", "xstest",
                                 "toxigen", "implicit", "misogyny", "ethos", "toxichat", "civil", "synthetic"]
    assert "surge" not in SPEC.quotas, "evaluation only"
    assert SPEC.quotas["davidson"] == 6000 and isinstance(SPEC.quotas["davidson"], int)
    assert SPEC.quotas["sst"] == 3.0 and isinstance(SPEC.quotas["sst"], float)
    assert SPEC.quotas["hatemoji"] is None


def test_the_bar_in_words_states_the_bar_in_numbers():
    bar = SPEC.ship_bar
    assert f"PR-AUC >= {bar.min_pr_auc:.2f}" in bar.text
    assert f"at least {bar.min_test_positives} positives" in bar.text


def test_arms():
    assert list(SPEC.arms) == ["baseline", "meaning", "full"]
    assert SPEC.arms["full"]["obfuscate"] == 0.2 and SPEC.arms["baseline"]["synthetic"] is False


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("threshold_rule"), "missing"),
    (lambda d: d.update(extra=1), "unknown"),
    (lambda d: d["label"][0].update(colour="red"), "unknown"),
    (lambda d: d["quota"][0].update(passes=2.0), "rows or passes"),
    (lambda d: d["quota"][0].update(rows=1.5), "whole number"),
    (lambda d: d["quota"].append({"source": "nowhere"}), "unknown source"),
    (lambda d: d["v1_labels"].append("rudeness"), "not a candidate"),
    (lambda d: d.update(davidson_offensive="sometimes"), "davidson_offensive"),
    (lambda d: d["label"].append(dict(d["label"][0])), "twice"),
])
def test_a_broken_spec_is_refused(change, message):
    doc = copy.deepcopy(raw())
    change(doc)
    with pytest.raises(SpecError, match=message):
        spec.parse(doc)


def test_parse_of_the_file_is_the_loaded_spec():
    assert spec.parse(raw()) == SPEC
