"""Reads the functional set (Tests/Fixtures/functional/cases.jsonl; schema in its README): the cases, and what
each one expects."""
from __future__ import annotations

import json
import os

from warden_tools.paths import FIXTURES

DEFAULT_CASES = os.path.join(FIXTURES, "functional", "cases.jsonl")
REQUIRED_KEYS = ("id", "kind", "text", "hateful", "expect")


class MalformedCase(ValueError):
    """A line of the cases file that is not JSON or lacks a required key; the message names file and line."""


def load_cases(path: str = DEFAULT_CASES) -> list[dict]:
    """Every case of a JSON Lines file (blank lines skipped), each checked for the keys the schema requires."""
    cases = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except ValueError as error:
                raise MalformedCase(f"{path}:{number}: not JSON: {error}") from None
            for key in REQUIRED_KEYS:
                if key not in case:
                    raise MalformedCase(f"{path}:{number}: no '{key}'")
            cases.append(case)
    return cases


def case_expectations(c: dict) -> dict:
    """kind, and the expected `hate` and `flagged` decisions (None where the case states none), and `hateful`."""
    exp = c.get("expect") or {}

    def as_bool(v):
        return None if v is None else bool(v)

    return dict(kind=c["kind"], hate=as_bool(exp.get("hate")), flagged=as_bool(exp.get("flagged")),
                hateful=bool(c.get("hateful")))
