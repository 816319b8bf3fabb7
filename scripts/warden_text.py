"""Warden's text normalisation ("platform-v1"), the Python reference.

The default model is trained on tweets, SMS and chatbot logs. Platform artefacts (retweet markers,
@handles, URLs, HTML entities) would let a model learn "looks like a tweet => offensive", so training
neutralises them and Warden applies the *same* function at inference (Swift:
`Sources/WordPiece/PlatformNormalizer.swift`). Both sides are checked against
`Tests/Fixtures/normalization_golden.jsonl`, written by `scripts/make_normalization_golden.py`.

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
import re

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


NORMALIZERS = {"none": lambda t: t, "platform-v1": normalize_platform_v1}


if __name__ == "__main__":
    import sys
    for line in sys.stdin:
        print(normalize_platform_v1(line.rstrip("\n")))
