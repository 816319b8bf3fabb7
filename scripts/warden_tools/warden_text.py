"""Warden's text normalisations ("platform-v1", and "platform-v2" below), the Python reference.

The default model is trained on tweets, SMS and chatbot logs. Platform artefacts (retweet markers,
@handles, URLs, HTML entities) would let a model learn "looks like a tweet => offensive", so training
neutralises them and Warden applies the *same* function at inference (Swift:
`Sources/WordPiece/PlatformNormalizer.swift`). Both sides are checked against
`Tests/Fixtures/normalization_golden.jsonl`, written by `scripts/generate/make_normalization_golden.py`.

The rules are deliberately ASCII-only and regex-free in spirit so that the Swift port is exact:
  1. HTML entities, one left-to-right pass (no re-decoding of the result):
       &amp; &lt; &gt; &quot; &apos; &nbsp;  ->  & < > " ' and a space
       &#DDDD; (1-7 decimal digits) and &#xHHHH; / &#XHHHH; (1-6 hex digits) -> that scalar, when it is a
       valid Unicode scalar other than U+0000 (else the text is left as it is).
     Names are case-sensitive; anything else stays literally.
  2. URLs: at a position not preceded by an ASCII letter or digit, a case-insensitive "http://",
     "https://" or "www." followed by the longest run of non-whitespace -> "http".
  3. Retweet markers: "RT" (case-sensitive) at the start or after whitespace, followed by one or more
     spaces, "@", one or more [A-Za-z0-9_], and an optional ":" -> removed (the whitespace after it stays).
  4. Handles: "@" followed by one or more [A-Za-z0-9_] -> "@user".
  Whitespace here means the ASCII set " \t\n\r\f\v". Nothing else changes (case, punctuation, emoji).
"""
import json
import re

from warden_tools.paths import V2_TABLES

_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": " "}
_ENTITY = re.compile(r"&(?:(amp|lt|gt|quot|apos|nbsp)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_WS = " \t\n\r\f\v"
_URL = re.compile(r"(?<![A-Za-z0-9])(?:[hH][tT][tT][pP][sS]?://|[wW][wW][wW]\.)[^ \t\n\r\f\v]*")
_RT = re.compile(r"(?:(?<=[ \t\n\r\f\v])|^)RT +@[A-Za-z0-9_]+:?")
_HANDLE = re.compile(r"@[A-Za-z0-9_]+")


def _entity(m: "re.Match[str]") -> str:
    if m.group(1):
        return _NAMED[m.group(1)]
    value = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
    if value == 0 or value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return m.group(0)
    return chr(value)


def normalize_platform_v1(text: str) -> str:
    text = _ENTITY.sub(_entity, text)
    text = _URL.sub("http", text)
    text = _RT.sub("", text)
    text = _HANDLE.sub("@user", text)
    return text


# ---------------------------------------------------------------------------------------------------------
# platform-v2 = platform-v1 + obfuscation folding. Rules, in this order, each over the previous one's output:
#   1. HTML entities (v1 rule 1).
#   2. Invisible characters removed: every scalar with Unicode's Default_Ignorable_Code_Point property
#      (zero-width space/joiners, soft hyphen, word joiner, BOM, bidi controls, variation selectors, tag
#      characters, Hangul fillers ...).
#   3. Homoglyphs folded: each scalar in the generated fold table becomes its ASCII letter or digit
#      (fullwidth, mathematical alphanumerics, circled, super/subscripts, emoji letters such as "🅰", and
#      Unicode confusables such as Cyrillic "а" and Greek "ο"; generate/make_obfuscation_tables.py says what
#      is in and out). Always, whatever the surrounding word's script: the models are English, and a
#      wholly Cyrillic or Greek word turned into Latin-looking junk loses no signal they had, while a
#      per-word script test would let "idіot" with one Cyrillic "і" through.
#   4. URLs (v1 rule 2), so that rules 5-9 never see a URL.
#   5. Leetspeak. A leet token is a maximal run of scalars in [A-Za-z0-9@$!]. In a token that has at least
#      one ASCII letter and none of the digits 2 6 8 9, each of 0 1 3 4 5 7 @ $ ! that has an ASCII letter
#      somewhere before it AND somewhere after it in the token becomes o i e a s t a s i (lowercase).
#      So "n1gg3r", "id10t", "b!tch", "a$$hole", "b@stard" fold; "2024", "$5", "b4", "5th", "1st", "mp3",
#      "4pm", "gr8", "covid19", "@user", "wow!!!" do not. Runs before rule 7, so "b@stard" folds before
#      v1's handle rule would make it "b@user"; an e-mail "me@home.com" becomes "meahome.com".
#   6. Retweet markers (v1 rule 3).   7. Handles (v1 rule 4).
#   8. Spaced-out letters joined. Separators are " . - _ *". For a separator sep, the scalar at k is a
#      single letter if it is an ASCII letter and each neighbour (when there is one) is neither an ASCII
#      letter or digit, nor one of ". - _ *" other than sep with an ASCII letter on its far side. A run is
#      >= 3 single letters (for sep) at k, k+2, k+4, ... with sep between each pair; the separators inside
#      the run are removed ("i d i o t" -> "idiot", "f.u.c.k." -> "fuck.", "s-t-u-p-i-d" -> "stupid").
#      Scanned left to right; at each position the longest run starting there (sep = the scalar after
#      it), else the scalar is kept. It also joins ordinary runs ("u r a star" -> "ura star", "U.S.A." ->
#      "USA.") and a real one-letter word next to a space-separated run ("is a b i t c h" -> "is abitch"):
#      accepted, measured. "a r e s.t.u.p.i.d" -> "are stupid", "x-y a b c" -> "x-y abc". Spaced digits
#      and leet ("i d 1 o t") stay.
#   9. Stretched letters: a run of >= 3 ASCII letters that are equal ignoring case keeps its first
#      STRETCH_KEEP = 1 letter as written ("stuuupid" -> "stupid", "Sooo" -> "So", "Part III" -> "Part I";
#      keeping 2 lost recall on stretched toxic text, see docs/NORMALIZATION.md). Runs of 2 stay ("good").
# Whitespace, case, punctuation other than the above, and all other non-ASCII text are kept. Rules 5, 8
# and 9 only read and write ASCII, so the Swift port runs them over UTF-8 bytes.
# The two tables are generated by make_obfuscation_tables.py, never by hand; obfuscation.py inverts FOLD.
with open(V2_TABLES, encoding="utf-8") as _f:
    _TABLES = json.load(_f)
INVISIBLE_RANGES = [(lo, hi) for lo, hi in _TABLES["invisible_ranges"]]
FOLD = {int(k, 16): v for k, v in _TABLES["fold"].items()}
_SCALAR_MAP = {cp: "" for lo, hi in INVISIBLE_RANGES for cp in range(lo, hi + 1)}
_SCALAR_MAP.update(FOLD)  # disjoint: no folded scalar is default-ignorable

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
_LEET_TOKEN = re.compile(r"[A-Za-z0-9@$!]+")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ALNUM = _LETTERS | frozenset("0123456789")
_SPACED_SEPARATORS = frozenset(" .-_*")
STRETCH_KEEP = 1


def _leet_token(m: "re.Match[str]") -> str:
    t = m.group(0)
    if "2" in t or "6" in t or "8" in t or "9" in t:
        return t
    letters = [k for k, c in enumerate(t) if c in _LETTERS]
    if not letters:
        return t
    first, last = letters[0], letters[-1]
    return "".join(_LEET[c] if first < k < last and c in _LEET else c for k, c in enumerate(t))


def _fold_leet(text: str) -> str:
    return _LEET_TOKEN.sub(_leet_token, text)


def _join_spaced(text: str) -> str:
    n = len(text)

    def other_separator(k, sep, step):  # text[k] is a separator other than sep and " ", a letter beyond it
        return text[k] in ".-_*" and text[k] != sep and 0 <= k + step < n and text[k + step] in _LETTERS

    def single(k, sep):
        return (text[k] in _LETTERS
                and (k == 0 or (text[k - 1] not in _ALNUM and not other_separator(k - 1, sep, -1)))
                and (k + 1 == n or (text[k + 1] not in _ALNUM and not other_separator(k + 1, sep, 1))))

    out = []
    i = 0
    while i < n:
        if i + 2 < n and text[i + 1] in _SPACED_SEPARATORS and single(i, text[i + 1]):
            sep = text[i + 1]
            last = i
            while last + 2 < n and text[last + 1] == sep and single(last + 2, sep):
                last += 2
            if last - i >= 4:
                out.append(text[i:last + 1:2])
                i = last + 1
                continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _collapse_stretched(text: str) -> str:
    out = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c in _LETTERS:
            j = i + 1
            while j < n and text[j].lower() == c.lower() and text[j] in _LETTERS:
                j += 1
            out.append(text[i:i + STRETCH_KEEP] if j - i >= 3 else text[i:j])
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


def normalize_platform_v2(text: str) -> str:
    """platform-v1 plus obfuscation folding; the rules and their order are in the comment above."""
    text = _ENTITY.sub(_entity, text)
    if not text.isascii():
        text = text.translate(_SCALAR_MAP)
    text = _URL.sub("http", text)
    text = _fold_leet(text)
    text = _RT.sub("", text)
    text = _HANDLE.sub("@user", text)
    text = _join_spaced(text)
    text = _collapse_stretched(text)
    return text


NORMALIZERS = {"none": lambda t: t, "platform-v1": normalize_platform_v1, "platform-v2": normalize_platform_v2}


if __name__ == "__main__":
    import sys
    normalize = NORMALIZERS[sys.argv[1]] if len(sys.argv) > 1 else normalize_platform_v1
    for line in sys.stdin:
        print(normalize(line.rstrip("\n")))
