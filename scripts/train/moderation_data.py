"""Loads the moderation datasets (the moderation datasets folder: --data, or WARDEN_DATA), maps their labels
explicitly onto Warden's candidate labels, normalises, deduplicates and splits them (fixed seed).

Candidate labels (CANDIDATES, from spec.toml; a label ships only if it clears the ship bar there):
  harassment, hate, spam, harassment/threatening, hate/threatening, violence, illicit, self-harm, sexual,
  sexual/minors (named after the OpenAI categories they declare; `toxic` is v1/v2's name for `harassment`)

Each example: dict(source, text (raw), norm (model input text), y [floats], w [floats: 0 = loss masked
(not annotated), WEAK = weak label (training only, never ground truth), 1 = annotated], strat, split, group).

Label policy (w=1 unless said; "masked" = w 0; an empty taxonomy cell is never read as 0):
  davidson (tweets): harassment = 1 for `hate` (slurs at a person), 0 for `neither`; `offensive` (profanity,
      insults, slurs, no target annotated) per spec.toml's davidson_offensive: dropped (masked), positive,
      or a weak positive; hate = hate; hate/threatening = 0 when hate = 0 (a child is
      ruled out when its parent is), masked for hate; violence/illicit/self-harm/sexual/sexual-minors = 0
      as WEAK labels for `neither` tweets only; spam masked.
  convabuse (chat with bots): harassment = abusive (abuse aimed at the bot: person-directed; majority, ties
      dropped); hate = identity abuse (masked for sexist-only abuse); hate/threatening = 0 where hate = 0;
      spam = 0 WEAK; new categories = 0 WEAK for non-abusive turns.
  sms: spam = spam; harassment(/threatening) = hate(/threatening) = 0 WEAK; new categories 0 WEAK
      for ham.
  edos (Gab/Reddit, sexism): hate = sexist; harassment masked (sexism aimed at women as a group is hate, and
      whether a post also attacks a person is not annotated); hate/threatening = the taxonomy column;
      violence = 1 for threats (category 1: a threat or incitement of harm is violent content), 0 for
      sexist categories 2-4;
      not-sexist posts: hate = hate/threatening = 0 WEAK only (they are not judged for hate against other
      groups), everything else masked. Upstream `[USER]`/`[URL]` become `@user`/`http`, the tokens the
      platform normalisation gives handles and links in every other source.
  hatemoji (adversarial, half contrastive non-hateful): hate = gold; hate/threatening = the column;
      harassment masked (hate at a group; person-directed abuse not annotated);
      violence = 1 for threatening hate, 0 for other hate types (masked for non-hateful rows). Own split grouped
      by contrast pair (original + perturbation).
  ailuminate / sst (assistant prompts): the hazard's taxonomy columns = 1, ORed up the hierarchy
      (sexual/minors => sexual, hate/threatening => hate); every prompt is written for exactly one hazard,
      so categories a hazard clearly does not touch are 0 (same-register negatives: see HAZARD_NEGATIVES);
      the rest masked.
  xstest: safe prompts = 0 for every content category; unsafe prompts (no category) dropped.

  toxigen, implicit, misogyny, ethos, toxichat, civil, surge (the taxonomy-column folders): every taxonomy
      column the source annotates, as it is (`1`/`0`; an empty cell is masked, never 0); a child ORs into its
      parent (harassment/threatening => harassment, hate/threatening => hate) and a parent's 0 rules its child
      out. toxichat: the `Title:` prefix of a thread's first turn is removed. civil: positives only (balanced by
      the other sources' negatives through the quotas). surge: evaluation only (every row in the test split;
      its `src_is_toxic` is the "any abuse" target of the cross-source evaluation).

Splits: davidson/convabuse/sms as v1 (stratified 70/15/15 per dataset, seed); edos: upstream
train/dev/test; hatemoji: 70/15/15 by contrast-pair group; prompt sets: stratified by hazard / type.
Dedupe within a source on the normalised, lower-cased, whitespace-collapsed text before splitting
(majority label, ties dropped); val/test texts also in another source's train split are dropped.

    PYTHONPATH=scripts .venv-train/bin/python -m train.moderation_data [--data DIR]
"""
from __future__ import annotations

import csv
import hashlib
import os
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable

from sklearn.model_selection import train_test_split

from train.spec import CANDIDATES, IDX, SOURCES, SPEC, WEAK
from warden_tools import paths, warden_text

NEW_CATS = ["violence", "illicit", "self-harm", "sexual", "sexual/minors"]
IDENTITY_TYPES = ["racist", "homophobic", "transphobic", "ableist"]


def normalizer_name() -> str:
    """platform-v2 (the shipped bundle's); WARDEN_TRAIN_NORMALIZATION=platform-v1 reproduces the ablation arms
    that were run before platform-v2 existed."""
    return os.environ.get("WARDEN_TRAIN_NORMALIZATION") or "platform-v2"


def davidson_offensive_policy() -> str:
    """spec.toml's davidson_offensive, unless WARDEN_TRAIN_DAVIDSON_OFFENSIVE names another (ablation arms)."""
    return os.environ.get("WARDEN_TRAIN_DAVIDSON_OFFENSIVE") or SPEC.davidson_offensive


def normalizer() -> Callable[[str], str]:
    return warden_text.NORMALIZERS[normalizer_name()]


_EDOS_USER = re.compile(r"\[USER\]")
_EDOS_URL = re.compile(r"\[URL\]")


def unmark_edos(text: str) -> str:
    """EDOS replaced mentions and links by [USER]/[URL]; give them the tokens platform normalisation gives
    every other source (so `[URL]` cannot mean `EDOS`). Done in data loading, not in the shared normaliser."""
    return _EDOS_URL.sub("http", _EDOS_USER.sub("@user", text))


def dedupe_key(norm: str) -> str:
    return " ".join(norm.lower().split())


def _read(name: str, data_root: str) -> list[dict[str, str]]:
    with open(os.path.join(data_root, name, "data.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _set(y, w, label, yy, ww):
    y[IDX[label]], w[IDX[label]] = float(yy), float(ww)


def _group(rows, label_of, norm_fn, pre=lambda t: t):
    groups = defaultdict(list)
    order = []
    for r in rows:
        norm = norm_fn(pre(r["text"]))
        k = dedupe_key(norm)
        if not k:
            continue
        if k not in groups:
            order.append(k)
        groups[k].append((r, norm))
    out, conflicts = [], 0
    for k in order:
        items = groups[k]
        labels = Counter(label_of(r) for r, _ in items)
        top = labels.most_common()
        if len(top) > 1:
            conflicts += 1
            if top[0][1] == top[1][1]:
                continue
        lab = top[0][0]
        r, norm = next((r, n) for r, n in items if label_of(r) == lab)
        out.append((k, r, norm, lab))
    return out, conflicts


def _weak_new(y, w):
    for c in NEW_CATS:
        _set(y, w, c, 0, WEAK)


def load_davidson(data_root, norm_fn):
    rows = _read("davidson-hate-offensive", data_root)
    grouped, conflicts = _group(rows, lambda r: r["label"], norm_fn)
    ex = []
    for k, r, norm, lab in grouped:
        y, w = [0.0] * len(CANDIDATES), [0.0] * len(CANDIDATES)
        if lab == "offensive":
            policy = davidson_offensive_policy()
            if policy != "drop":
                _set(y, w, "harassment", 1, 1 if policy == "positive" else WEAK)
        else:  # hate tweets are mostly slurs at a person; `neither` tweets attack no one
            _set(y, w, "harassment", lab == "hate", 1)
        if lab != "hate":
            _set(y, w, "harassment/threatening", 0, 1 if lab == "neither" else 0)
        _set(y, w, "hate", lab == "hate", 1)
        if lab != "hate":
            _set(y, w, "hate/threatening", 0, 1)
        if lab == "neither":
            _weak_new(y, w)
        ex.append(dict(source="davidson", key=k, text=r["text"], norm=norm, y=y, w=w, strat=lab))
    return ex, dict(rows=len(rows), kept=len(ex), conflicting_keys=conflicts)


def load_convabuse(data_root, norm_fn):
    rows = _read("convabuse", data_root)
    n_rows = len(rows)
    ties = sum(1 for r in rows if r["is_tie"] == "1")
    rows = [r for r in rows if r["is_tie"] != "1"]

    def lab(r):
        if r["label"] != "abusive":
            return "none"
        votes = max(int(r["abusive_votes"]), 1)
        if any(int(r[f"votes_{t}"]) * 2 >= votes for t in IDENTITY_TYPES):
            return "identity"
        if int(r["votes_sexist"]) * 2 >= votes:
            return "sexist"
        return "other"

    grouped, conflicts = _group(rows, lab, norm_fn)
    ex = []
    for k, r, norm, l in grouped:
        y, w = [0.0] * len(CANDIDATES), [0.0] * len(CANDIDATES)
        _set(y, w, "harassment", l != "none", 1)
        if l == "none":
            _set(y, w, "harassment/threatening", 0, 1)
        if l != "sexist":
            _set(y, w, "hate", l == "identity", 1)
            if l != "identity":
                _set(y, w, "hate/threatening", 0, 1)
        _set(y, w, "spam", 0, WEAK)
        if l == "none":
            _weak_new(y, w)
        ex.append(dict(source="convabuse", key=k, text=r["text"], norm=norm, y=y, w=w,
                       strat="abusive" if l != "none" else "not_abusive"))
    return ex, dict(rows=n_rows, ties_dropped=ties, kept=len(ex), conflicting_keys=conflicts)


def load_sms(data_root, norm_fn):
    rows = _read("sms-spam-collection", data_root)
    grouped, conflicts = _group(rows, lambda r: r["label"], norm_fn)
    ex = []
    for k, r, norm, lab in grouped:
        y, w = [0.0] * len(CANDIDATES), [0.0] * len(CANDIDATES)
        _set(y, w, "spam", lab == "spam", 1)
        for c in ("harassment", "harassment/threatening", "hate", "hate/threatening"):
            _set(y, w, c, 0, WEAK)
        if lab == "ham":
            _weak_new(y, w)
        ex.append(dict(source="sms", key=k, text=r["text"], norm=norm, y=y, w=w, strat=lab))
    return ex, dict(rows=len(rows), kept=len(ex), conflicting_keys=conflicts)


def eval_weights(e):
    """EDOS not-sexist posts: weak (WEAK) hate / hate/threatening negatives in the loss, because they are not
    judged for hate against other groups; but in evaluation they are the in-register negatives for the
    gender-based hate EDOS does annotate (its README's advice), so evaluation counts them (weights `ew`)."""
    ew = list(e["w"])
    for c in ("hate", "hate/threatening"):
        ew[IDX[c]] = 1.0
    return ew


def load_edos(data_root, norm_fn):
    rows = _read("edos-sexism", data_root)

    def lab(r):
        return r["src_label_category"] if r["src_label_sexist"] == "sexist" else "none"

    grouped, conflicts = _group(rows, lab, norm_fn, pre=unmark_edos)
    ex = []
    for k, r, norm, l in grouped:
        y, w = [0.0] * len(CANDIDATES), [0.0] * len(CANDIDATES)
        if l == "none":
            _set(y, w, "hate", 0, WEAK)
            _set(y, w, "hate/threatening", 0, WEAK)
        else:
            _set(y, w, "hate", 1, 1)
            threat = r["hate/threatening"] == "1"
            _set(y, w, "hate/threatening", threat, 1)
            # a non-threat category rules out threats/incitement of harm: in-register violence negatives
            _set(y, w, "violence", threat, 1)
        split = {"train": "train", "dev": "val", "test": "test"}[r["split"]]
        ex.append(dict(source="edos", key=k, text=r["text"], norm=norm, y=y, w=w, strat=l, split=split))
        if l == "none":
            ex[-1]["ew"] = eval_weights(ex[-1])
    return ex, dict(rows=len(rows), kept=len(ex), conflicting_keys=conflicts)


def load_hatemoji(data_root, norm_fn):
    rows = _read("hatemoji-build", data_root)
    grouped, conflicts = _group(rows, lambda r: (r["src_label_gold"], r["src_type"]), norm_fn)
    ex = []
    for k, r, norm, (gold, typ) in grouped:
        y, w = [0.0] * len(CANDIDATES), [0.0] * len(CANDIDATES)
        hate = gold == "1"
        threat = hate and typ == "threateninglanguage"
        _set(y, w, "hate", hate, 1)
        _set(y, w, "hate/threatening", threat, 1)
        if hate:  # typed hate: threatening or not (non-hateful rows may threaten individuals: masked)
            _set(y, w, "violence", threat, 1)
        pair = tuple(sorted((int(r["src_entry_id"]), int(r["src_matched_id"]))))
        ex.append(dict(source="hatemoji", key=k, text=r["text"], norm=norm, y=y, w=w,
                       strat="hate" if hate else "nothate", group=f"hm{pair[0]}",
                       contrastive=not hate, src_set=r["src_set"]))
    return ex, dict(rows=len(rows), kept=len(ex), conflicting_keys=conflicts)


# hazard -> (positive labels, labels the hazard clearly does not touch = same-register negatives)
SEXUALS = ["sexual", "sexual/minors"]
HAZARDS = {
    "ssh": (["self-harm"], SEXUALS + ["hate", "hate/threatening"]),
    "sxc_prn": (["sexual"], ["sexual/minors", "self-harm", "violence", "illicit", "hate", "hate/threatening"]),
    "cse": (["sexual/minors", "sexual"], ["self-harm", "hate", "hate/threatening"]),
    "vcr": (["violence", "illicit"], SEXUALS + ["self-harm"]),
    "iwp": (["illicit"], SEXUALS + ["self-harm"]),
    "ncr": (["illicit"], SEXUALS + ["self-harm", "violence", "hate", "hate/threatening"]),
    "hte": (["hate"], SEXUALS + ["self-harm", "illicit"]),
    "src": ([], ["self-harm", "hate", "hate/threatening"]),
    "dfm": ([], SEXUALS + ["self-harm", "violence", "hate", "hate/threatening"]),
    "ipv": ([], SEXUALS + ["self-harm", "violence", "hate", "hate/threatening"]),
    "prv": ([], SEXUALS + ["self-harm", "violence", "hate", "hate/threatening"]),
    "spc": ([], SEXUALS + ["self-harm", "violence", "hate", "hate/threatening", "illicit"]),
    # SimpleSafetyTests harm areas
    "sst_ssh": (["self-harm"], SEXUALS + ["hate", "hate/threatening"]),
    "sst_vio": (["violence"], SEXUALS + ["self-harm"]),
    "sst_ill": (["illicit"], SEXUALS + ["self-harm"]),
    "sst_scam": (["illicit"], SEXUALS + ["self-harm", "violence", "hate", "hate/threatening"]),
    "sst_child": (["sexual/minors", "sexual"], ["self-harm", "hate", "hate/threatening"]),
}
SST_AREAS = {"Suicide, Self-Harm, and Eating Disorders": "sst_ssh", "Physical harm and Violence": "sst_vio",
             "Illegal and Highly Regulated items": "sst_ill", "Scams and fraud": "sst_scam",
             "Child safety": "sst_child"}


def _hazard_vectors(h):
    pos, neg = HAZARDS[h]
    y, w = [0.0] * len(CANDIDATES), [0.0] * len(CANDIDATES)
    for c in neg:
        _set(y, w, c, 0, 1)
    for c in pos:
        _set(y, w, c, 1, 1)
    _set(y, w, "spam", 0, WEAK)  # a request typed to an assistant is not unsolicited advertising
    return y, w


def _load_prompts(source, folder, hazard_of, data_root, norm_fn):
    rows = _read(folder, data_root)
    grouped, conflicts = _group(rows, hazard_of, norm_fn)
    ex = []
    for k, r, norm, h in grouped:
        y, w = _hazard_vectors(h)
        ex.append(dict(source=source, key=k, text=r["text"], norm=norm, y=y, w=w, strat=h))
    return ex, dict(rows=len(rows), kept=len(ex), conflicting_keys=conflicts)


def load_ailuminate(data_root, norm_fn):
    return _load_prompts("ailuminate", "ailuminate-demo",
                         lambda r: "spc" if r["src_hazard"].startswith("spc") else r["src_hazard"], data_root, norm_fn)


def load_sst(data_root, norm_fn):
    return _load_prompts("sst", "simple-safety-tests", lambda r: SST_AREAS[r["src_harm_area"]], data_root, norm_fn)


def load_xstest(data_root, norm_fn):
    rows = [r for r in _read("xstest", data_root) if r["src_label"] == "safe"]
    grouped, conflicts = _group(rows, lambda r: r["src_type"], norm_fn)
    ex = []
    for k, r, norm, t in grouped:
        y, w = [0.0] * len(CANDIDATES), [1.0] * len(CANDIDATES)
        _set(y, w, "spam", 0, WEAK)
        ex.append(dict(source="xstest", key=k, text=r["text"], norm=norm, y=y, w=w, strat=t, focus=r["src_focus"]))
    return ex, dict(rows=len(rows), kept=len(ex), conflicting_keys=conflicts, note="safe prompts only")


# The folders whose data.csv carries the 13 taxonomy columns: source name -> (folder, split rule, strat column)
TAXONOMY_FOLDERS = {
    "toxigen": "toxigen-statements", "implicit": "implicit-hate", "misogyny": "online-misogyny", "ethos": "ethos",
    "toxichat": "toxichat", "civil": "civil-comments", "surge": "surge-toxicity",
}
PARENT_OF = {"harassment/threatening": "harassment", "hate/threatening": "hate"}
_TITLE = re.compile(r"^\s*Title:\s*", re.I)


def _taxonomy_vectors(r):
    y, w = [0.0] * len(CANDIDATES), [0.0] * len(CANDIDATES)
    cells = {c: r.get(c, "") for c in CANDIDATES}
    for child, parent in PARENT_OF.items():
        if cells[child] == "1":
            cells[parent] = "1"
        if cells[parent] == "0" and cells[child] == "":
            cells[child] = "0"
    for c, v in cells.items():
        if v in ("0", "1"):
            _set(y, w, c, v == "1", 1)
    return y, w


def _strat(r):
    return "|".join(r.get(c, "") for c in ("harassment", "hate", "hate/threatening", "violence"))


def load_taxonomy(name, data_root, norm_fn):
    rows = _read(TAXONOMY_FOLDERS[name], data_root)
    pre = (lambda t: _TITLE.sub("", t)) if name == "toxichat" else (lambda t: t)
    grouped, conflicts = _group(rows, _strat, norm_fn, pre=pre)
    ex = []
    for k, r, norm, strat in grouped:
        y, w = _taxonomy_vectors(r)
        if not any(w) and name != "surge":
            continue
        e = dict(source=name, key=k, text=pre(r["text"]), norm=norm, y=y, w=w, strat=strat)
        if name == "surge":
            e["split"] = "test"
            e["any_abuse"] = 1 if r["src_is_toxic"].lower().startswith("toxic") else 0
        elif r.get("split"):
            e["split"] = {"train": "train", "dev": "val", "test": "test"}[r["split"]]
        ex.append(e)
    if name == "misogyny":  # upstream train/test only: validation carved from the training part
        tr = [e for e in ex if e["split"] == "train"]
        rng = random.Random(len(tr))
        for e in rng.sample(tr, int(len(tr) * 0.15)):
            e["split"] = "val"
    if any("split" not in e for e in ex):
        small = Counter(e["strat"] for e in ex)
        for e in ex:  # strata too small to split are pooled
            if small[e["strat"]] < 10:
                e["strat"] = "rare"
        split_examples(ex, 13)
    return ex, dict(rows=len(rows), kept=len(ex), conflicting_keys=conflicts)


def _taxonomy_loader(name):
    return lambda data_root, norm_fn: load_taxonomy(name, data_root, norm_fn)


LOADERS = {"davidson": load_davidson, "convabuse": load_convabuse, "sms": load_sms, "edos": load_edos,
           "hatemoji": load_hatemoji, "ailuminate": load_ailuminate, "sst": load_sst, "xstest": load_xstest,
           **{name: _taxonomy_loader(name) for name in TAXONOMY_FOLDERS}}


def split_examples(examples, seed: int, val_frac=0.15, test_frac=0.15):
    """Stratified 70/15/15; examples with a `group` are split by group (contrast pairs stay together)."""
    if any("group" in e for e in examples):
        groups = sorted({e["group"] for e in examples})
        rng = random.Random(seed)
        rng.shuffle(groups)
        n = len(groups)
        cut1, cut2 = int(n * (1 - val_frac - test_frac)), int(n * (1 - test_frac))
        where = {g: ("train" if i < cut1 else "val" if i < cut2 else "test") for i, g in enumerate(groups)}
        for e in examples:
            e["split"] = where[e["group"]]
        return
    idx = list(range(len(examples)))
    strat = [e["strat"] for e in examples]
    trval, test = train_test_split(idx, test_size=test_frac, random_state=seed, stratify=strat)
    strat2 = [strat[i] for i in trval]
    train, val = train_test_split(trval, test_size=val_frac / (1 - test_frac), random_state=seed, stratify=strat2)
    for name, ids in (("train", train), ("val", val), ("test", test)):
        for i in ids:
            examples[i]["split"] = name


def load_all(seed: int = 13, data_root: str | None = None, sources=SOURCES):
    data_root = data_root or paths.data_root()
    paths.check_data_dir(data_root)
    norm_fn = normalizer()
    all_ex, stats = [], {}
    for name in sources:
        ex, st = LOADERS[name](data_root, norm_fn)
        if not all("split" in e for e in ex):
            split_examples(ex, seed)
        st["splits"] = dict(Counter(e["split"] for e in ex))
        stats[name] = st
        all_ex.extend(ex)
    train_keys = defaultdict(set)
    for e in all_ex:
        if e["split"] == "train":
            train_keys[e["key"]].add(e["source"])
    kept, dropped = [], 0
    for e in all_ex:
        if e["split"] != "train" and (train_keys.get(e["key"], set()) - {e["source"]}):
            dropped += 1
            continue
        kept.append(e)
    stats["cross_source_eval_duplicates_dropped"] = dropped
    for e in kept:
        e["id"] = e["source"] + ":" + hashlib.sha1(e["key"].encode()).hexdigest()[:12]
    return kept, stats


if __name__ == "__main__":
    import argparse
    import json
    ap = argparse.ArgumentParser(description="Prints the split statistics of the moderation datasets.")
    paths.add_data_argument(ap)
    ex, st = load_all(data_root=ap.parse_args().data)
    print(json.dumps(st, indent=1))
    print("normaliser:", normalizer_name())
    for lab in CANDIDATES:
        j = IDX[lab]
        for sp in ("train", "val", "test"):
            sub = [e for e in ex if e["split"] == sp and e["w"][j] == 1.0]
            by = Counter(e["source"] for e in sub if e["y"][j] == 1)
            print(f"{lab:18s} {sp:5s} annotated {len(sub):6d} pos {sum(by.values()):5d} {dict(by)}")
