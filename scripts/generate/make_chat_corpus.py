#!/usr/bin/env python3
"""Generate a synthetic, chat-like corpus for `warden score` throughput runs (no real user text).

Messages are composed from small word lists written for Warden: greetings, game/work chatter,
questions, emoji-ish tokens and a few rude lines (so that some records get flagged). Length in words
is skewed short like chat (about 85% 2-30 words, median ~9; 10% 31-90; 5% 91-180, which exceeds a
128-token model and exercises long-text windows). Deterministic for a given --seed.

usage: PYTHONPATH=scripts python3 -m generate.make_chat_corpus --n 200000 [--seed 11] [--format text|jsonl|csv] [--out FILE|-]
       (or python3 scripts/make_chat_corpus.py ..., the path `warden tune` names)
  text:  one message per line
  jsonl: {"id": "m000001", "user": "...", "channel": "...", "ts": 1700000000, "text": "..."}
  csv:   id,user,channel,ts,text (RFC 4180 quoting)
"""
import argparse
import csv
import json
import random
import sys

OPENERS = ["hey", "hi all", "yo", "ok so", "morning", "evening folks", "lol", "wait", "guys", "quick question", "btw", "ugh", "omg", "fyi"]
PEOPLE = ["ana", "bo", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jules", "kofi", "lena", "mods", "everyone", "team", "squad"]
WHO = ["i", "we", "you", "they", "my sister", "the lead", "our squad", "this channel", "the new mod", "my dog", "the patch", "the boss fight", "your stream", "the client", "the server", "my phone", "the tournament", "the bot", "the old map", "support"]
DOES = ["fixed", "broke", "loved", "hated", "skipped", "queued for", "uploaded", "muted", "pinned", "rebooted", "reviewed", "lost", "won", "rewatched", "ordered", "returned", "translated", "merged", "reverted", "scheduled", "postponed", "cleared", "streamed", "tested", "reported"]
WHAT = ["the update", "that quest", "a new deck", "the standup", "my settings", "round two", "your clip", "the thread", "noodles", "tea", "the passes", "the invite", "a crash", "the beta", "some memes", "the soundtrack", "that reply", "the ladder", "the whole plan", "the essay", "the dungeon", "the weekend", "the channel rules", "a discount", "the teaser", "my mouse", "the queue", "the meetup", "the vod", "a skin"]
FEEL = ["great", "terrible", "odd", "hilarious", "busted", "sluggish", "snappy", "incredible", "dull", "irritating", "neat", "shady", "legit", "cursed", "cozy", "choppy", "pricey", "free", "okay", "chaotic", "pointless", "flawless", "sus", "unreal", "relaxed", "rough", "clean", "messy"]
HOW = ["really", "kind of", "totally", "honestly", "literally", "very", "so", "quite", "barely", "actually", "surely", "probably", "maybe", "nearly", "never", "always"]
WHEN = ["today", "yesterday", "last night", "this morning", "right now", "tomorrow", "next week", "an hour ago", "all day", "again", "on saturday", "after dinner", "before the reset", "since tuesday", "every single time"]
WHERE = ["in the lobby", "on the forum", "at the office", "in class", "in voice", "in ranked", "in the group chat", "on stream", "at home", "in dms", "on the staging server", "in the raid"]
LINK = ["and", "but", "so", "because", "though", "then", "while", "until", "or"]
TAGS = [":)", ":(", ":D", "xD", "<3", ":/", "^^", ";)", ":P", "!!", "??", "...", "lmao", "haha", "smh", "tbh", "imo", "fr", "ngl", "idk", "brb", "gg", "wp"]
ASK = ["why", "how", "when", "where", "who", "what"]
AUX = ["did", "does", "can", "will", "should", "would", "is", "could"]
RUDE = ["you are a total idiot", "nobody cares about you", "get out of here loser", "what a stupid take", "stop acting like a clown", "you play like garbage", "shut up already", "what an absolute moron", "go away and never come back", "this is trash and so are you"]
SPAM = ["click here for free coins", "dm me for cheap boosts", "win a free phone now", "limited offer visit my profile", "buy followers fast and cheap"]


def clause(r):
    k = r.random()
    if k < 0.33:
        return f"{r.choice(WHO)} {r.choice(DOES)} {r.choice(WHAT)}"
    if k < 0.52:
        return f"{r.choice(WHAT)} is {r.choice(HOW)} {r.choice(FEEL)}"
    if k < 0.66:
        return f"{r.choice(WHO)} {r.choice(DOES)} {r.choice(WHAT)} {r.choice(WHEN)}"
    if k < 0.78:
        return f"{r.choice(ASK)} {r.choice(AUX)} {r.choice(WHO)} {r.choice(DOES)} {r.choice(WHAT)}"
    if k < 0.89:
        return f"{r.choice(WHO)} {r.choice(DOES)} {r.choice(WHAT)} {r.choice(WHERE)}"
    if k < 0.95:
        return r.choice(RUDE)
    if k < 0.97:
        return r.choice(SPAM)
    return f"{r.choice(HOW)} {r.choice(FEEL)} {r.choice(WHEN)}"


def length(r):
    u = r.random()
    if u < 0.85:
        return min(max(int(r.lognormvariate(2.2, 0.65)), 2), 30)
    if u < 0.95:
        return r.randint(31, 90)
    return r.randint(91, 180)


def message(r):
    want = length(r)
    words = []
    if r.random() < 0.3:
        words += r.choice(OPENERS).split()
        if r.random() < 0.5:
            words.append(r.choice(PEOPLE))
    while len(words) < want:
        if words and r.random() < 0.35:
            words.append(r.choice(LINK))
        words += clause(r).split()
        if r.random() < 0.2:
            words.append(r.choice(TAGS))
    s = " ".join(words[:want])
    if r.random() < 0.3:
        s = s[0].upper() + s[1:]
    if r.random() < 0.4:
        s += r.choice([".", "!", "?", "!!", " :)", ""])
    if r.random() < 0.04:
        s = s.upper()
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--format", choices=["text", "jsonl", "csv"], default="text")
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    r = random.Random(a.seed)
    out = sys.stdout if a.out == "-" else open(a.out, "w", newline="", encoding="utf-8")
    writer = csv.writer(out, lineterminator="\n") if a.format == "csv" else None
    if writer:
        writer.writerow(["id", "user", "channel", "ts", "text"])
    for i in range(a.n):
        text = message(r)
        if a.format == "text":
            out.write(text + "\n")
            continue
        user, channel, ts = r.choice(PEOPLE), f"#{r.choice(['general', 'games', 'help', 'offtopic', 'lfg'])}", 1700000000 + i * 7
        if a.format == "jsonl":
            out.write(json.dumps({"id": f"m{i + 1:07d}", "user": user, "channel": channel, "ts": ts, "text": text}) + "\n")
        else:
            writer.writerow([f"m{i + 1:07d}", user, channel, ts, text])
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
