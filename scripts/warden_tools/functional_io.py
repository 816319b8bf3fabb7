"""Reads the functional set (Tests/Fixtures/functional/cases.jsonl; schema in its README): the cases, and what
each one expects. Also reads the self-harm contrast set (Tests/Fixtures/selfharm/cases.jsonl), which is kept
apart from it."""
from __future__ import annotations

import json
import os

from warden_tools.paths import FIXTURES

DEFAULT_CASES = os.path.join(FIXTURES, "functional", "cases.jsonl")
REQUIRED_KEYS = ("id", "kind", "text", "hateful", "expect")
DEFAULT_SELFHARM_CASES = os.path.join(FIXTURES, "selfharm", "cases.jsonl")
SELFHARM_REQUIRED_KEYS = ("id", "kind", "text", "self_harm")


class MalformedCase(ValueError):
    """A line of the cases file that is not JSON or lacks a required key; the message names file and line."""


def _read_jsonl(path: str, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    """(line number, object) for every object of a JSON Lines file (blank lines skipped), each checked for the
    required keys."""
    cases = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except ValueError as error:
                raise MalformedCase(f"{path}:{number}: not JSON: {error}") from None
            if not isinstance(case, dict):
                raise MalformedCase(f"{path}:{number}: not a JSON object")
            for key in required:
                if key not in case:
                    raise MalformedCase(f"{path}:{number}: no '{key}'")
            cases.append((number, case))
    return cases


def load_cases(path: str = DEFAULT_CASES) -> list[dict]:
    """Every case of a JSON Lines file (blank lines skipped), each checked for the keys the schema requires."""
    return [case for _, case in _read_jsonl(path, REQUIRED_KEYS)]


def read_selfharm_cases(path: str = DEFAULT_SELFHARM_CASES) -> list[dict]:
    """Every case of the self-harm contrast set: `id`, `kind`, `text`, `self_harm` (0 or 1) and a `note`. A line
    that is not JSON, lacks a key or has another `self_harm` raises MalformedCase naming file and line."""
    cases = []
    for number, case in _read_jsonl(path, SELFHARM_REQUIRED_KEYS):
        value = case["self_harm"]
        if isinstance(value, bool) or value not in (0, 1):
            raise MalformedCase(f"{path}:{number}: 'self_harm' is {value!r}, not 0 or 1")
        cases.append(case)
    return cases


def case_expectations(c: dict) -> dict:
    """kind, and the expected `hate` and `flagged` decisions (None where the case states none), and `hateful`."""
    exp = c.get("expect") or {}

    def as_bool(v):
        return None if v is None else bool(v)

    return dict(kind=c["kind"], hate=as_bool(exp.get("hate")), flagged=as_bool(exp.get("flagged")),
                hateful=bool(c.get("hateful")))
