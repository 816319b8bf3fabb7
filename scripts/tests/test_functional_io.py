import pytest

from warden_tools.functional_io import DEFAULT_CASES, MalformedCase, case_expectations, load_cases


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
