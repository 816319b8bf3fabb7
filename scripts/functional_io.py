"""Reads the expectations of one functional-set case (Tests/Fixtures/functional/cases.jsonl)."""


def case_expectations(c: dict) -> dict:
    exp = c.get("expected") or c.get("expect") or c.get("labels") or {}
    hate = c.get("hate", exp.get("hate") if isinstance(exp, dict) else None)
    flagged = c.get("flagged", exp.get("flagged") if isinstance(exp, dict) else None)
    return dict(kind=c.get("kind") or c.get("functionality") or "unknown", hate=hate, flagged=flagged)
