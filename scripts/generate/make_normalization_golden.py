#!/usr/bin/env python3
"""Writes Tests/Fixtures/normalization_golden.jsonl ({"raw": ..., "normalized": ..., "normalized_v2": ...}
per line) with the Python references of platform-v1 and platform-v2 (warden_tools/warden_text.py): lines drawn
(seeded) from the datasets in --data DIR, the same rows obfuscated by warden_tools/obfuscation.py, hand-written
edge cases, and every entry of platform-v2's generated Unicode tables in context. The Swift port
(`normalizeText(_:_:)` in Sources/WordPiece/TextNormalization.swift) must reproduce every line.

    # from the repository root
    PYTHONPATH=scripts /usr/bin/python3 -m generate.make_normalization_golden [--data DIR] [--per-dataset 340]
        [--out Tests/Fixtures/normalization_golden.jsonl]
    PYTHONPATH=scripts /usr/bin/python3 -m generate.make_normalization_golden --check   # Python still matches the golden

--data defaults to the moderation datasets folder (set WARDEN_DATA).
"""
import argparse
import csv
import json
import os
import random
import sys

from warden_tools.obfuscation import obfuscate
from warden_tools.paths import FIXTURES, V2_TABLES, add_data_argument, check_data_dir
from warden_tools.warden_text import normalize_platform_v1, normalize_platform_v2

DATASETS = ["convabuse", "davidson-hate-offensive", "sms-spam-collection"]
V2_DATASETS = ["edos-sexism", "hatemoji-build", "xstest"]  # only drawn from when present

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

V2_EDGE = [
    # invisible characters
    "id\u200biot", "i\u200cd\u200di\u2060o\u00adt", "\ufeffidiot\ufeff", "st\u00adu\u00adpid", "a\u202eb\u202cc",
    "x\u2066y\u2069z", "fu\u034fck", "\u3164\u3164", "a\u115fb", "\u180ex", "\U000E0041\U000E0042tag\U000E007F",
    "\U000E0100vs\U000E01EF", "\U000E0FFF\U000E1000", "\u200a\u200b\u2010", "\ufe0f\ufe00\ufe10",
    "i \u200bd i o t", "stu\u200bu\u200bu\u200bpid", "\u200b@user", "@\u200buser", "RT\u200b @a: x",
    "http\u200b://x.com", "❤️ 👨\u200d👩\u200d👧 🏳️\u200d🌈 ✌🏽", "1️⃣ 2️⃣ #️⃣",
    # homoglyphs
    "іdіоt", "ІDІОТ", "Ιdiot", "Νazi", "ѕtupid", "ｉｄｉｏｔ", "ＩＤＩＯＴ", "𝐢𝐝𝐢𝐨𝐭", "𝕀𝔻𝕀𝕆𝕋", "𝓯𝓾𝓬𝓴", "ⓘⓓⓘⓞⓣ",
    "ᵢdiot", "x²", "H₂O", "№ 5", "ℹ️", "🅸🅳🅸🅾🆃", "привет мир", "Ελληνικά", "中文 日本語 한국어", "العربية", "עברית",
    "हिन्दी ०१२", "১২৩", "ℌ𝔢𝔩𝔩𝔬", "ﬁne", "Ⅻ Ⅳ", "Ａ１＠ｂ", "ｈｔｔｐ://x.com", "ｗｗｗ.x.com", "＠ｕｓｅｒ", "ＲＴ @a: x",
    "n𝟏gg𝟑r", "ｂ！ｔｃｈ", "café naïve", "ı ſ ꭵ", "Ꭺ Ᏼ Ꮯ", "ǀ ǃ", "Ø ø ð",
    "🅱️🅰️©️©️ℹ️", "chℹ️🆖 ch🅾️🆖", "🅝🅘🅖🅖🅔🅡", "tr🅰️n$phobes", "I hate 🇵🇸", "🅰🅱🆎🅾🅿", "🄰🄱 ⒜⒝ Ⓐⓑ",
    # leetspeak
    "n1gg3r", "id10t", "sh1t", "b!tch", "a$$hole", "b@stard", "h0e", "sl00t", "ph4gg0t", "w00t", "1d10t", "5hit",
    "a55", "a55hole", "k1ll y0urs3lf", "2024", "$5", "US$5", "b4", "4u", "b4u", "5th", "1st", "3rd", "mp3", "mp3s",
    "4pm", "10am", "gr8", "l8r", "2nite", "covid19", "covid19vaccine", "h2o", "4x4", "a1b2", "ps4", "A1", "N16",
    "@user", "@us3r", "RT @b0b: yo", "wow!!!", "hi!how", "Hello!!!World", "me@home.com", "user@example.com",
    "@@a", "a@", "!a!", "a!!b", "$a$", "a$b$c", "4$$", "@ss", "a@@b", "Fr33 c4sh", "L00K", "7h3", "x_1_y",
    "id1ot-1d1ot", "n1gga's", "f4g.", "(b1tch)", "b1tch3s", "s3x", "1337", "h4x0r", "l33t sp34k",
    # spaced-out letters
    "i d i o t", "I D I O T", "f.u.c.k", "f.u.c.k. you", "s-t-u-p-i-d", "b_i_t_c_h", "f*u*c*k", "a b", "a b c",
    "I a m", "u r a star", "is a b i t c h", "You a r e a s.t.u.p.i.d", "a r e s.t.u.p.i.d", "s.t.u.p.i.d a r e",
    "x-y a b c", "a.b c d", "i d i o t.", "U.S.A.", "e.g. this", "i.e.", "a.k.a. x", "abc d e f g", "i d i o tic",
    "x . y . z", "a  b  c", "a b c.d.e", "a b c-d-e", "h.e.l.l.o-w.o.r.l.d", "1 2 3", "i d 1 o t", "a-b-c-",
    "-a-b-c", "a\tb\tc", "a\nb\nc", "é a b c", "aé b c d", "a b c é", "Plan B a c", "A. B. C.", "a*b*c*d*e*f",
    "http://a b c d", "@user a b c", "a b c @user", "RT @a: x y z",
    # stretched letters
    "stuuupid", "stuuuuuupid", "Sooo", "SoOoO", "sooo gooood", "good", "cool", "cooool", "Part III", "WWW",
    "www.x.com aaa", "zzz", "hmmm", "Mmmm", "aaaAAAaaa", "AaA", "fuuuuck", "!!!!", "1111", "ooo0ooo", "éééé",
    "xxx", "bbb ccc", "aa", "aaa", "aab", "abbb",
    # rules together
    "Y0u 4re @ f.u.c.k.i.n.g 1d10t!!! sooooo stuuupid", "RT @b0b: ｉ ｄ ｉ ｏ ｔ http://x.com &amp; n1gg3r",
    "&#x456;d&#1110;ot", "&#8203;i d i o t", "ＳＴＵＵＵＰＩＤ", "і d і о t", "s\u200bt\u200bu\u200bp\u200bi\u200bd",
    "😀 i d i o t 😀", "🤬🤬🤬 b1tch 🤬", "#h4shtag #n1gg3r", "&lt;b!tch&gt;", "www.b1tch.com", "https://t.co/aaa",
]


def table_cases():
    """Every fold-table scalar and every invisible range's ends (and the scalars just outside) in context."""
    with open(V2_TABLES, encoding="utf-8") as f:
        tables = json.load(f)
    folds = [chr(int(k, 16)) for k in tables["fold"]]
    out = ["x" + "".join(folds[i:i + 40]) + "y" for i in range(0, len(folds), 40)]
    out += [" ".join(folds[i:i + 40]) for i in range(0, len(folds), 40)]
    edges = []
    for lo, hi in tables["invisible_ranges"]:
        edges += [c for c in (lo - 1, lo, (lo + hi) // 2, hi, hi + 1) if 0 < c <= 0x10FFFF and not 0xD800 <= c <= 0xDFFF]
    out += ["a" + chr(c) + "b" for c in edges]
    return out


def fuzz_cases(rng, count=600):
    """Random short strings over the characters the v2 rules look at, to catch port differences the
    hand-written cases miss."""
    alphabet = (list("aAbiIdoOtsSxyz") * 3 + list("0123456789@$!") * 2 + list(" .-_*") * 3 +
                ["\u200b", "\u00ad", "\u0456", "\u043e", "\uff49", "\U0001d422", "\u00e9", "😀", "&amp;", "&#105;",
                 "http://", "www.", "RT @", "@", "\n", "\t", "ooo", "III"])
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))) for _ in range(count)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-dataset", type=int, default=340)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=os.path.join(FIXTURES, "normalization_golden.jsonl"))
    ap.add_argument("--check", action="store_true",
                    help="only check that the Python references still reproduce the committed --out file")
    add_data_argument(ap)
    a = ap.parse_args()
    if a.check:
        with open(a.out, encoding="utf-8") as f:
            cases = [json.loads(line) for line in f]
        bad = [c["raw"] for c in cases if normalize_platform_v1(c["raw"]) != c["normalized"]
               or normalize_platform_v2(c["raw"]) != c["normalized_v2"]]
        print(f"{a.out}: {len(cases) - len(bad)} of {len(cases)} cases reproduced"
              + (f", first differing: {bad[:3]!r}" if bad else ""))
        sys.exit(1 if bad else 0)
    check_data_dir(a.data)
    rng = random.Random(a.seed)
    raws = []
    for name in DATASETS:
        with open(os.path.join(a.data, name, "data.csv"), encoding="utf-8", newline="") as f:
            texts = [row["text"] for row in csv.DictReader(f)]
        raws += rng.sample(texts, min(a.per_dataset, len(texts)))
    for name in V2_DATASETS:
        path = os.path.join(a.data, name, "data.csv")
        if os.path.exists(path):
            with open(path, encoding="utf-8", newline="") as f:
                texts = [row["text"] for row in csv.DictReader(f)]
            raws += rng.sample(texts, min(a.per_dataset // 2, len(texts)))
    sampled = list(raws)
    obf_rng = random.Random(a.seed + 1)
    raws += [obfuscate(t, obf_rng, word_p=0.5) for t in obf_rng.sample(sampled, min(600, len(sampled)))]
    raws += EDGE + V2_EDGE + table_cases() + fuzz_cases(random.Random(a.seed + 2))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    changed = changed_v2 = 0
    with open(a.out, "w", encoding="utf-8") as f:
        for raw in raws:
            norm = normalize_platform_v1(raw)
            norm_v2 = normalize_platform_v2(raw)
            changed += norm != raw
            changed_v2 += norm_v2 != norm
            f.write(json.dumps({"raw": raw, "normalized": norm, "normalized_v2": norm_v2}, ensure_ascii=False) + "\n")
    print(f"wrote {len(raws)} cases ({changed} changed by platform-v1, {changed_v2} more by platform-v2) to {a.out}")


if __name__ == "__main__":
    main()
