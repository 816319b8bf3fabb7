import random

import pytest

from warden_tools.obfuscation import KINDS, obfuscate, obfuscate_word
from warden_tools.warden_text import normalize_platform_v2

# words without a doubled letter, so that folding a stretched run back to one letter restores them
WORDS = ["idiot", "stupid", "moron", "loser", "bastard", "trash"]


@pytest.mark.parametrize("kind", ["invisible", "homoglyph", "leet", "spaced", "stretched"])
def test_platform_v2_undoes_each_kind(kind):
    rng = random.Random(13)
    for word in WORDS:
        for _ in range(20):
            hidden = obfuscate_word(word, rng, kind)
            assert normalize_platform_v2(hidden).lower() == word, (kind, word, hidden)


def test_a_seed_reproduces_the_output():
    text = "you are such an idiot and a loser, @handle http://x.co #tag"
    a = obfuscate(text, random.Random(5), word_p=1.0)
    assert a == obfuscate(text, random.Random(5), word_p=1.0)
    assert "@handle" in a and "http://x.co" in a and "#tag" in a


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError):
        obfuscate("x", random.Random(0), kinds=("rot13",))
    assert set(KINDS) == {"invisible", "homoglyph", "leet", "spaced", "stretched"}
