"""Obfuscation augmentation: the inverses of platform-v2's folds (warden_text.py), for training-time
augmentation and for measuring how much of an obfuscation platform-v2 undoes.

    import random
    from warden_tools.obfuscation import obfuscate, KINDS
    rng = random.Random(13)
    obfuscate("you are an idiot", rng)                        # each word: p=0.3, one random kind
    obfuscate("you are an idiot", rng, kinds=("leet",), word_p=1.0)
    obfuscate_word("idiot", rng, "spaced")                     # "i d i o t", "i.d.i.o.t", ...

Kinds (each chosen so that platform-v2 maps the result back to the word, or close to it):
  invisible   zero-width / soft-hyphen / word-joiner / BOM scalars inserted between letters (rule 2 removes them)
  homoglyph   letters replaced by scalars that the generated fold table maps back to the same letter
              (Cyrillic, Greek, fullwidth, mathematical alphanumerics ...; rule 3)
  leet        interior letters a e i o s t -> 4/@ 3 1/! 0 5/$ 7 (rule 5 only folds interior ones)
  spaced      letters separated by one of " . - _ *" (rule 8; never two spaced words in a row, which
              rule 8 would run together)
  stretched   one letter repeated 3-6 times (rule 9 keeps STRETCH_KEEP of them)

Only "plain words" are touched: whitespace-separated chunks that are 3+ ASCII letters with optional
leading/trailing punctuation other than @ # / : & (so @handles, URLs, hashtags and entities stay). All
randomness comes from the `random.Random` passed in, so a seed reproduces the output.
"""
from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence

from warden_tools.warden_text import FOLD

KINDS = ("invisible", "homoglyph", "leet", "spaced", "stretched")

# Letter -> scalars that fold to exactly that letter (same case), sorted for determinism.
_HOMOGLYPHS: dict[str, list[str]] = {}
for _cp, _v in sorted(FOLD.items()):
    if _v.isalpha():
        _HOMOGLYPHS.setdefault(_v, []).append(chr(_cp))

_INVISIBLES = ("\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff")
_LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7"}
_SEPARATORS = " .-_*"
_WORD = re.compile(r"^([^A-Za-z0-9@#/:&]*)([A-Za-z]{3,})([^A-Za-z0-9@#/:&]*)$")


def obfuscate_word(word: str, rng: random.Random, kind: str) -> str:
    """One ASCII-letter word (3+ letters) obfuscated with `kind` (one of KINDS)."""
    if kind == "invisible":
        cuts = sorted(rng.sample(range(1, len(word)), k=rng.randint(1, min(3, len(word) - 1))))
        out, last = [], 0
        for c in cuts:
            out += [word[last:c], rng.choice(_INVISIBLES)]
            last = c
        return "".join(out) + word[last:]
    if kind == "homoglyph":
        chars = list(word)
        candidates = [k for k, c in enumerate(chars) if c in _HOMOGLYPHS]
        if not candidates:
            return word
        for k in rng.sample(candidates, k=rng.randint(1, len(candidates))):
            chars[k] = rng.choice(_HOMOGLYPHS[chars[k]])
        return "".join(chars)
    if kind == "leet":
        chars = list(word)
        interior = [k for k in range(1, len(chars) - 1) if chars[k].lower() in _LEET]
        if not interior:
            return word
        for k in rng.sample(interior, k=rng.randint(1, len(interior))):
            chars[k] = rng.choice(_LEET[chars[k].lower()])
        return "".join(chars)
    if kind == "spaced":
        return rng.choice(_SEPARATORS).join(word)
    if kind == "stretched":
        k = rng.randrange(len(word))
        return word[:k] + word[k] * rng.randint(3, 6) + word[k + 1:]
    raise ValueError(f"unknown obfuscation kind {kind!r} (known: {', '.join(KINDS)})")


def obfuscate(text: str, rng: random.Random, kinds: Sequence[str] = KINDS, word_p: float = 0.3,
              targets: Iterable[str] | None = None) -> str:
    """`text` with each plain word obfuscated with probability `word_p` by one kind drawn from `kinds`.

    `targets` (lowercase words), when given, restricts obfuscation to those words (e.g. a lexicon of slurs
    and insults), each then obfuscated with probability `word_p`. Whitespace between chunks is kept as is.
    """
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"unknown obfuscation kind {k!r} (known: {', '.join(KINDS)})")
    wanted = None if targets is None else {t.lower() for t in targets}
    parts = re.split(r"(\s+)", text)
    previous_spaced = False
    for i in range(0, len(parts), 2):
        m = _WORD.match(parts[i])
        if not m or (wanted is not None and m.group(2).lower() not in wanted) or rng.random() >= word_p:
            previous_spaced = False
            continue
        choices = [k for k in kinds if not (k == "spaced" and previous_spaced)]
        if not choices:
            previous_spaced = False
            continue
        kind = rng.choice(choices)
        parts[i] = m.group(1) + obfuscate_word(m.group(2), rng, kind) + m.group(3)
        previous_spaced = kind == "spaced"
    return "".join(parts)


if __name__ == "__main__":
    import sys
    r = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    for line in sys.stdin:
        print(obfuscate(line.rstrip("\n"), r, word_p=0.5))
