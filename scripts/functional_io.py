"""Reads the expectations of one functional-set case (Tests/Fixtures/functional/cases.jsonl; schema in its README)."""


def case_expectations(c: dict) -> dict:
    exp = c.get("expect") or {}
    as_bool = lambda v: None if v is None else bool(v)
    return dict(kind=c["kind"], hate=as_bool(exp.get("hate")), flagged=as_bool(exp.get("flagged")),
                hateful=bool(c.get("hateful")))
