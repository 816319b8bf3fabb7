"""The Python reference of the normalisations against the golden file the Swift port is also checked with."""
import json
import os

import pytest

from warden_tools import paths, warden_text
from warden_tools.warden_text import NORMALIZERS, normalize_platform_v1, normalize_platform_v2

GOLDEN = os.path.join(paths.FIXTURES, "normalization_golden.jsonl")


def golden():
    with open(GOLDEN, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_every_golden_line_is_reproduced():
    cases = golden()
    assert len(cases) > 3000
    bad_v1 = [c["raw"] for c in cases if normalize_platform_v1(c["raw"]) != c["normalized"]]
    bad_v2 = [c["raw"] for c in cases if normalize_platform_v2(c["raw"]) != c["normalized_v2"]]
    assert not bad_v1, bad_v1[:3]
    assert not bad_v2, bad_v2[:3]


@pytest.mark.parametrize("raw, v1, v2", [
    ("RT @someone: you are an id10t http://x.co/a", " you are an id10t http", " you are an idiot http"),
    ("&lt;3 @bob", "<3 @user", "<3 @user"),
    ("i d i o t", "i d i o t", "idiot"),
    ("stuuupid", "stuuupid", "stupid"),
    ("іdіоt", "іdіоt", "idiot"),  # Cyrillic і and о
    ("2024 mp3 gr8", "2024 mp3 gr8", "2024 mp3 gr8"),
])
def test_known_cases(raw, v1, v2):
    assert normalize_platform_v1(raw) == v1
    assert normalize_platform_v2(raw) == v2


def test_the_normalizers_by_name():
    assert set(NORMALIZERS) == {"none", "platform-v1", "platform-v2"}
    assert NORMALIZERS["none"]("RT @a: x") == "RT @a: x"
    assert warden_text.STRETCH_KEEP == 1


def test_the_tables_are_consistent():
    assert warden_text.FOLD and warden_text.INVISIBLE_RANGES
    invisible = {cp for lo, hi in warden_text.INVISIBLE_RANGES for cp in range(lo, hi + 1)}
    assert not invisible & set(warden_text.FOLD)
    assert all(len(v) == 1 and v.isascii() and v.isalnum() for v in warden_text.FOLD.values())
