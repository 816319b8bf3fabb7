import pytest

from warden_tools.functional_io import (
    DEFAULT_CASES,
    DEFAULT_SELFHARM_CASES,
    MalformedCase,
    case_expectations,
    load_cases,
    read_selfharm_cases,
)


def test_the_committed_set_reads():
    cases = load_cases()
    assert len(cases) >= 1000
    assert len({c["id"] for c in cases}) == len(cases)
    exps = [case_expectations(c) for c in cases]
    assert all(e["hate"] in (True, False, None) and e["flagged"] in (True, False, None) for e in exps)
    assert sum(e["hateful"] for e in exps) == sum(bool(c["hateful"]) for c in cases)
    assert DEFAULT_CASES.endswith("Tests/Fixtures/functional/cases.jsonl")


def test_expectations():
    case = {"id": "x", "kind": "negated_hate", "text": "t", "hateful": 0, "expect": {"hate": 0, "flagged": 1}}
    assert case_expectations(case) == dict(kind="negated_hate", hate=False, flagged=True, hateful=False)
    assert case_expectations({"kind": "k"}) == dict(kind="k", hate=None, flagged=None, hateful=False)


def test_malformed_lines_name_file_and_line(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text('{"id": "a", "kind": "k", "text": "t", "hateful": 0, "expect": {}}\n\n{"id": "b"}\n')
    with pytest.raises(MalformedCase, match=r"cases.jsonl:3: no 'kind'"):
        load_cases(str(path))
    path.write_text("not json\n")
    with pytest.raises(MalformedCase, match=r"cases.jsonl:1: not JSON"):
        load_cases(str(path))


def test_the_committed_selfharm_set_reads():
    cases = read_selfharm_cases()
    assert DEFAULT_SELFHARM_CASES.endswith("Tests/Fixtures/selfharm/cases.jsonl")
    assert len(cases) >= 300
    assert len({c["id"] for c in cases}) == len(cases)
    positive = sum(c["self_harm"] for c in cases) / len(cases)
    assert 0.4 <= positive <= 0.6
    kinds = {c["kind"] for c in cases}
    assert {"first_person_intent", "method_seeking", "recovery", "hyperbole_idiom"} <= kinds
    # kept apart from the functional set
    assert not {c["text"] for c in cases} & {c["text"] for c in load_cases()}


def test_selfharm_reader_refuses_malformed_lines(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text('{"id": "support-001", "kind": "support", "text": "t", "self_harm": 0, "note": "n"}\n\n'
                    '{"id": "x", "kind": "k", "text": "t"}\n')
    with pytest.raises(MalformedCase, match=r"cases.jsonl:3: no 'self_harm'"):
        read_selfharm_cases(str(path))
    path.write_text('{"id": "x", "kind": "k", "text": "t", "self_harm": 2}\n')
    with pytest.raises(MalformedCase, match=r"cases.jsonl:1: 'self_harm' is 2"):
        read_selfharm_cases(str(path))
    path.write_text('{"id": "x", "kind": "k", "text": "t", "self_harm": true}\n')
    with pytest.raises(MalformedCase, match=r"'self_harm' is True"):
        read_selfharm_cases(str(path))
    path.write_text('{"id": "a", "kind": "k", "text": "t", "self_harm": 1, "note": "n"}\n')
    assert read_selfharm_cases(str(path)) == [{"id": "a", "kind": "k", "text": "t", "self_harm": 1, "note": "n"}]
