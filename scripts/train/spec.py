"""The training spec, spec.toml, read into frozen dataclasses. Nothing here decides anything: the numbers and
texts are in spec.toml; this module checks that the file is whole and gives names to what it holds.

    from train.spec import SPEC, CANDIDATES, IDX, SOURCES, WEAK
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

SPEC_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spec.toml")


@dataclass(frozen=True)
class Label:
    name: str
    meaning: str
    openai: str | None  # the OpenAI category it declares; None for Warden-only labels


@dataclass(frozen=True)
class Source:
    name: str
    platform: str
    licence: str
    attribution: str


@dataclass(frozen=True)
class ShipBar:
    min_pr_auc: float
    min_test_positives: int
    text: str  # the bar in words, as the card and the manifest state it


@dataclass(frozen=True)
class Spec:
    labels: tuple[Label, ...]
    sources: tuple[Source, ...]
    v1_labels: tuple[str, ...]
    quotas: Mapping[str, int | float | None]  # rows (int), passes (float) or all rows (None), in run order
    ship_bar: ShipBar
    threshold_rule: str
    arms: Mapping[str, Mapping[str, bool | float | str]]
    weak_label_weight: float
    davidson_offensive: str  # "drop", "positive" or "weak": how Davidson's `offensive` tweets train `harassment`

    @property
    def candidates(self) -> list[str]:
        return [label.name for label in self.labels]

    @property
    def openai_categories(self) -> dict[str, str]:
        return {label.name: label.openai for label in self.labels if label.openai}

    @property
    def meanings(self) -> dict[str, str]:
        return {label.name: label.meaning for label in self.labels}

    @property
    def source_names(self) -> list[str]:
        return [source.name for source in self.sources]


DAVIDSON_OFFENSIVE_POLICIES = ("drop", "positive", "weak")


class SpecError(ValueError):
    """spec.toml lacks something, or holds something this reader does not know."""


def _fields(table: dict, required: set[str], optional: set[str], where: str) -> dict:
    missing, unknown = required - set(table), set(table) - required - optional
    if missing or unknown:
        raise SpecError(f"{where}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return table


def _quota(entry: dict, where: str) -> int | float | None:
    _fields(entry, {"source"}, {"rows", "passes"}, where)
    if "rows" in entry and "passes" in entry:
        raise SpecError(f"{where}: rows or passes, not both")
    if "rows" in entry:
        if not isinstance(entry["rows"], int):
            raise SpecError(f"{where}: rows must be a whole number")
        return entry["rows"]
    if "passes" in entry:
        return float(entry["passes"])
    return None


def parse(doc: dict, where: str = "spec") -> Spec:
    """A Spec from the parsed TOML document; SpecError names what is wrong."""
    _fields(doc, {"weak_label_weight", "v1_labels", "threshold_rule", "ship_bar", "label", "source", "quota", "arms",
                  "davidson_offensive"}, set(), where)
    if doc["davidson_offensive"] not in DAVIDSON_OFFENSIVE_POLICIES:
        raise SpecError(f"{where}: davidson_offensive must be one of {DAVIDSON_OFFENSIVE_POLICIES}")
    labels = tuple(Label(name=t["name"], meaning=t["meaning"], openai=t.get("openai"))
                   for t in (_fields(t, {"name", "meaning"}, {"openai"}, f"{where}: label") for t in doc["label"]))
    sources = tuple(Source(**_fields(t, {"name", "platform", "licence", "attribution"}, set(), f"{where}: source"))
                    for t in doc["source"])
    bar = ShipBar(**_fields(doc["ship_bar"], {"min_pr_auc", "min_test_positives", "text"}, set(), f"{where}: ship_bar"))
    quotas = {q["source"]: _quota(q, f"{where}: quota {q.get('source')}") for q in doc["quota"]}
    arms = {name: MappingProxyType(_fields(dict(arm), {"contrastive", "synthetic", "xstest", "obfuscate"},
                                           {"davidson_offensive", "new_sources"},
                                           f"{where}: arm {name}"))
            for name, arm in doc["arms"].items()}
    names = [label.name for label in labels]
    for label in doc["v1_labels"]:
        if label not in names:
            raise SpecError(f"{where}: v1 label {label!r} is not a candidate")
    for source in quotas:
        if source not in {s.name for s in sources} | {"synthetic"}:
            raise SpecError(f"{where}: quota for unknown source {source!r}")
    if len(set(names)) != len(names) or len({s.name for s in sources}) != len(sources):
        raise SpecError(f"{where}: a label or source is listed twice")
    return Spec(labels=labels, sources=sources, v1_labels=tuple(doc["v1_labels"]), quotas=MappingProxyType(quotas),
                ship_bar=bar, threshold_rule=doc["threshold_rule"], arms=MappingProxyType(arms),
                weak_label_weight=float(doc["weak_label_weight"]), davidson_offensive=doc["davidson_offensive"])


def load(path: str = SPEC_FILE) -> Spec:
    with open(path, "rb") as f:
        return parse(tomllib.load(f), where=os.path.basename(path))


SPEC = load()
CANDIDATES = SPEC.candidates
IDX = {label: i for i, label in enumerate(CANDIDATES)}
SOURCES = SPEC.source_names
WEAK = SPEC.weak_label_weight
