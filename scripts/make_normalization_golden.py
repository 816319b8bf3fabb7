#!/usr/bin/env python3
"""Writes Tests/Fixtures/normalization_golden.jsonl ({"raw": ..., "normalized": ...} per line) with the
Python reference of platform-v1 (scripts/warden_text.py): ~1,000 lines drawn (seeded) from the three
datasets in --data DIR plus hand-written edge cases. The Swift port (`normalizeText(_:_:)` in
Sources/WordPiece/PlatformNormalizer.swift) must reproduce every line.

    /usr/bin/python3 scripts/make_normalization_golden.py [--data DIR] [--per-dataset 340]
        [--out Tests/Fixtures/normalization_golden.jsonl]

--data defaults to $WARDEN_DATA, else data/ at the repository root (a folder or a symlink you make).
"""
import argparse
import csv
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from warden_text import normalize_platform_v1  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, ".."))
DATA = os.environ.get("WARDEN_DATA") or os.path.join(ROOT, "data")
DATASETS = ["convabuse", "davidson-hate-offensive", "sms-spam-collection"]

EDGE = [
    "", " ", "&", "&;", "&amp", "&amp;", "&amp;&amp;", "&amp;amp;", "&&amp;", "x&amp;y", "&AMP;", "&Amp;", "&lt;3",
    "a &gt; b", "&quot;hi&quot;", "&apos;", "&nbsp;x", "x&nbsp;", "&nbsp;&nbsp;", "&copy;", "&hellip;", "&#;",
    "&#39;", "&#039;", "&#0039;", "&#65;&#66;", "&#x41;", "&#X41;", "&#x;", "&#xG1;", "&#0;", "&#00;", "&#x0;",
    "&#1114111;", "&#1114112;", "&#x10FFFF;", "&#x110000;", "&#xD800;", "&#55296;", "&#xDFFF;", "&#57343;",
    "&#1234567;", "&#12345678;", "&#x123456;", "&#x1234567;", "&#128512;", "&#x1F600;", "&#x1f600;", "&#65",
    "&#x41", "&#65;;", "&&#65;", "&#&#65;", "&#x26;amp;", "&#38;amp;", "&amp;#65;", "&#64;user", "&#x40;name",
    "&#x68;ttp://x.com", "&#32;", "&#10;", "&#9;RT @a: x", "&#13;", "&#x7F;", "&#xFFFD;", "&#xFEFF;",
    "http://example.com", "https://example.com/a?b=c&d=e", "HTTP://EXAMPLE.COM", "HtTpS://x", "http:/x",
    "http//x", "https:x", "httpx://x", "www.example.com", "WWW.EXAMPLE.COM", "wWw.x", "www", "www.", "ww.x",
    "xhttp://a", "1http://a", "_http://a", "-http://a", "(http://a)", "\"http://a\"", "'www.a.b'", "<http://a>",
    "see:http://a", "see http://a.", "end http://a", "http://a start", "http://", "https://", "http://a\thttp://b",
    "http://a\nhttp://b", "éhttp://a", "😀http://a", "http://ä.example/ü", "a,http://x,y z", "www.a.com/www.b.com",
    "http://a http://b", "url:https://t.co/abc!", "\u00a0http://a", "http://a\u00a0b c", "\u3000www.x.y z",
    "RT @user: hello", "RT @user hello", "RT @user", "RT @user:", "RT @user::x", "RT  @user: two spaces",
    "RT\t@user: tab", "RT@user: no space", "rt @user: lower", "Rt @user", "xRT @user: x", " RT @user: lead",
    "a RT @b: c", "a\nRT @b: c", "a\tRT @b", ".RT @b: c", "RT @: x", "RT @_: x", "RT @a RT @b: x", "RT @a:RT @b: x",
    "RT RT @a: x", "!!! RT @mayasolovely: As a woman", "RT @a\u00a0b", "RT @éa: x", "\x0bRT @a: x", "\x0cRT @a: x",
    "@user", "@", "@ user", "@@user", "@user@host", "a@b", "user@example.com", "mail: first.last@example.co.uk",
    "@_", "@123", "@user_name123!", "@User:", "@ü", "@éa", "x@y.z @z", "@a@b@c", "email@", "&#64;a",
    "@user http://x RT @y: z &amp; www.q.r", "RT @a: @b @c http://d &lt;3", "&lt;@user&gt;", "&quot;@user&quot;",
    "\ufeffRT @a: x", "😀 @user 😀", "Ünïcödé @üser www.ü.de", "中文 @用户 http://例子.中国", "\u200b@user",
    "\r\nRT @a: x\r\n", "  leading and trailing  ", "multi\nline\ntext @a", "tab\tseparated\t@b",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-dataset", type=int, default=340)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests", "Fixtures", "normalization_golden.jsonl"))
    ap.add_argument("--data", default=DATA, metavar="DIR",
                    help="folder holding <dataset>/data.csv (default: $WARDEN_DATA, else data/ at the repository root)")
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        sys.exit(f"error: data folder {a.data} not found; pass --data DIR (or set WARDEN_DATA) pointing at the datasets")
    rng = random.Random(a.seed)
    raws = []
    for name in DATASETS:
        with open(os.path.join(a.data, name, "data.csv"), encoding="utf-8", newline="") as f:
            texts = [row["text"] for row in csv.DictReader(f)]
        raws += rng.sample(texts, min(a.per_dataset, len(texts)))
    raws += EDGE
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    changed = 0
    with open(a.out, "w", encoding="utf-8") as f:
        for raw in raws:
            norm = normalize_platform_v1(raw)
            changed += norm != raw
            f.write(json.dumps({"raw": raw, "normalized": norm}, ensure_ascii=False) + "\n")
    print(f"wrote {len(raws)} cases ({changed} changed by platform-v1) to {a.out}")


if __name__ == "__main__":
    main()
