"""Meaning-over-words training examples built from the data's OWN rows (templates over real rows).

Every synthetic example is made from rows of ONE split and inherits that split, so validation/test
synthetic rows never share a source row with training. Labels (y=0 unless said; unlisted labels masked):

  counter_quote    a hateful row quoted and condemned ("Saying '<row>' is vile.")       hate, harassment (and threatening) = 0
  counter_refer    condemning hate against the group a hateful row names                hate, harassment (and threatening) = 0
  negation         "<group> are <X>" / "I hate <group>" rows negated                    hate, harassment (and threatening) = 0
  positive_id      the groups named in hateful rows, praised or neutrally mentioned     hate, harassment (and threatening) = 0
  reclaimed        non-hateful rows that use an in-group term, framed as self-reference hate, hate/threatening = 0
  profanity        non-toxic rows with an added swear word (profanity without a target) hate, harassment (and threatening) = 0
                   (undirected swearing is not harassment, as OpenAI's category defines it)

Rows written from templates (no data row behind them; split by template part, so no part crosses splits):

  crisis           first-person statements of suicidal or self-harm intent, plans, farewells   self-harm = 1
  crisis_contrast  support, recovery, prevention, idioms ("this week is killing me"), fiction,  self-harm = 0
                   news and technical uses of the same words
  threat_person    threats of harm at the reader        harassment, harassment/threatening, violence = 1; hate = 0
  hostility        calm, swear-free hostility at the reader ("no one asked for your opinion")  harassment = 1; hate = 0

Nothing here reads the functional test set (Tests/Fixtures/functional), which stays a development set.
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable

from train.spec import CANDIDATES, IDX

# identity terms as they occur in the data (plural noun phrase used in templates)
GROUP_TERMS = {
    r"\bwom[ae]n\b|\bgirls?\b|\bfemales?\b": "women",
    r"\bblacks?\b|\bblack (?:people|folks?|men|women)\b": "black people",
    r"\bmuslims?\b|\bislam\b": "Muslims",
    r"\bjews?\b|\bjewish\b": "Jewish people",
    r"\bgays?\b|\bgay (?:people|men)\b|\bhomosexuals?\b": "gay people",
    r"\blesbians?\b": "lesbians",
    r"\btrans\b|\btransgender\b|\btrannys?\b|\btrannies\b": "trans people",
    r"\bimmigrants?\b|\bmigrants?\b|\brefugees?\b": "immigrants",
    r"\bdisabled\b|\bretards?\b|\bcripples?\b": "disabled people",
    r"\basians?\b|\bchinese\b": "Asian people",
    r"\barabs?\b": "Arabs",
    r"\bmexicans?\b|\blatinos?\b|\bhispanics?\b": "Latinos",
    r"\bindians?\b": "Indians",
    r"\bromany\b|\bgypsies\b|\bgypsy\b": "Romany people",
    r"\bafricans?\b": "Africans",
}
GROUP_RES = [(re.compile(p, re.I), g) for p, g in GROUP_TERMS.items()]
ARE_RE = re.compile(r"^(?:all |most |the |these |those )?([A-Za-z ]{3,30}?) (?:are|r) (.{3,80}?)[.!?]*$", re.I)
IHATE_RE = re.compile(r"\bi (?:fucking |really |just )?hate (?:all )?([A-Za-z ]{3,30})", re.I)
RECLAIM_RE = re.compile(r"\b(nigga|niggas|queer|queers|dyke|dykes)\b", re.I)

NOT_SUBJECT = {"if", "when", "because", "and", "but", "that", "why", "how", "where", "so", "what", "who", "yes", "no"}
QUOTE_T = [
    'Saying "{x}" is vile.',
    'Someone wrote "{x}" under my post. Reported. Nobody deserves that.',
    'I can\'t believe people still post things like "{x}". That is hate, plain and simple.',
    '"{x}" is not an opinion, it is bigotry, and it should be called out.',
    'Quoting this so everyone can see how hateful it is: "{x}"',
    'My uncle said "{x}" at dinner and I told him that was disgusting.',
    'If you read "{x}" and nod along, please think again.',
    'Comments like "{x}" are why this community needs moderators.',
]
REFER_T = [
    "Hating {g} is never acceptable.",
    "People who attack {g} online should be ashamed of themselves.",
    "Stop spreading lies about {g}.",
    "The abuse {g} get on this site is sickening.",
    "I will always speak up when someone insults {g}.",
    "Posts that dehumanise {g} have no place here.",
]
NEG_ARE_T = ["I don't think {g} are {x}.", "It's simply not true that {g} are {x}.",
             "Nobody should claim that {g} are {x}.", "{G} are not {x}."]
NEG_HATE_T = ["I don't hate {g}.", "I would never hate {g}.", "I don't hate {g} at all, they are my neighbours."]
POS_T = ["I love {g}.", "{G} make this country better.", "Proud to stand with {g}.",
         "My best friends are {g}.", "{G} deserve the same respect as everyone else.",
         "We had a great talk about the history of {g} today."]
RECLAIM_T = ["As one of us I can say it: {x}", "{x} (talking about me and my friends, we say it to each other)",
             "me and my people talk like this: {x}"]
PROFANITY = ["fuck yeah", "holy shit", "damn", "fucking hell", "shit", "what the fuck"]
PROF_T = ["{p}, {x}", "{x} {p}", "{x}... {p}!"]


def _mk(source_ex, text, kind, labels: dict[str, float]):
    y = [0.0] * len(CANDIDATES)
    w = [0.0] * len(CANDIDATES)
    for l, v in labels.items():
        y[IDX[l]], w[IDX[l]] = float(v), 1.0
    return dict(source="synthetic", kind=kind, key=None, text=text, y=y, w=w, strat=kind,
                split=source_ex["split"], from_id=source_ex.get("id"))


NON_HATE = {"hate": 0, "hate/threatening": 0, "harassment": 0, "harassment/threatening": 0}
NON_HATE_ONLY = {"hate": 0, "hate/threatening": 0}


CRISIS_CORE = [
    "i want to kill myself", "i'm going to end my life", "i don't want to be alive anymore",
    "i've started cutting again", "i swallowed every pill in the cabinet", "everyone would be better off without me",
    "i already wrote the letters for my family", "i keep standing on the bridge thinking about jumping",
    "this is my last message to anyone", "i want to disappear and never wake up", "kms", "i'm gonna unalive myself",
    "i haven't eaten in days and i want to keep going until there's nothing left of me",
    "how many of these sleeping pills would make sure i don't wake up", "the rope is ready in the garage",
    "i cut deeper last night and it still wasn't enough", "i'm giving away my things because i won't need them",
    "i just want the pain to stop for good", "i've decided tonight is the night i end it", "i hate being alive",
    "i keep hurting myself so i feel something", "goodbye everyone, i'm sorry for everything",
    "i bought a gun so i can finally end this", "i'm planning how to kill myself", "nobody will notice when i'm gone",
    "i burned my arm again on purpose", "i wish i could just stop existing", "i can't stop thinking about suicide",
]
CRISIS_PRE = ["", "honestly ", "i can't do this anymore. ", "sorry guys. ", "tbh ", "i'm so tired. ", "idk anymore, ",
              "please don't be mad but "]
CRISIS_POST = ["", " tonight", ". nobody cares anyway", ".", " and i mean it", "...", " this time for real", " 😔"]
CONTRAST_CORE = [
    "if you're thinking about killing yourself please call a crisis line, you matter",
    "you're not alone, please talk to someone if you feel like hurting yourself",
    "i used to want to die but therapy really helped me", "two years clean from self harm today",
    "suicide prevention week starts monday, share the hotline number", "this homework is killing me",
    "i'm literally dead 😂 that video", "kill me now, another three hour meeting", "this heat is going to kill me lol",
    "the report says suicide rates fell after the new program", "the main character dies by suicide in chapter ten",
    "kill the process and restart the server", "i nearly died laughing at that", "my feet are killing me after that hike",
    "if a friend talks about ending their life, ask them directly and stay with them",
    "i'm recovering from an eating disorder and finally enjoying food again",
    "our charity trains volunteers to support people who self-harm", "that exam destroyed me, i need a nap",
    "she survived an attempt years ago and now speaks at schools about it", "i could die for a pizza right now",
    "the song is about losing a friend to suicide", "we killed it on stage tonight",
    "reach out if you're struggling, my dms are open", "i'm so done with this level, this boss is killing me",
    "researchers studied why self-harm is more common among teenagers", "lol i want to die of embarrassment",
]
THREAT_CORE = [
    "i know where you live and i'm going to make you pay", "say that again and i'll break your legs",
    "keep talking and you'll end up in the hospital", "i'm going to beat you until you can't stand",
    "watch your back when you leave work tomorrow", "i will hunt you down and hurt your family",
    "one more post like that and i'll put a bullet in you", "i'm coming to your house tonight, be ready",
    "you're going to regret this when i find you", "i'll slit your throat if you show up again",
    "somebody should shut you up for good and it might be me", "i'll burn your car with you in it",
]
HOSTILITY_CORE = [
    "no one asked for your opinion, go away", "you are the reason this group is dying",
    "everyone here is tired of you, just leave", "do us all a favour and stop posting",
    "you're pathetic and you know it", "honestly you're a waste of space in this chat",
    "nobody likes you, they just feel sorry for you", "you ruin everything you touch",
    "get lost, you clearly don't belong here", "your mother must be so ashamed of you",
    "you're too stupid to understand any of this", "go cry somewhere else, loser",
]


def _template_rows(core, pre, post, kind, labels, rng, n):
    """n rows from core sentences (each core in one split only, by its index) with a prefix and a suffix."""
    rows = []
    for _ in range(n):
        j = rng.randrange(len(core))
        split = ("train", "train", "train", "train", "train", "train", "val", "test")[j % 8]
        text = rng.choice(pre) + core[j] + rng.choice(post)
        if rng.random() < 0.3:
            text = text[:1].upper() + text[1:]
        rows.append(_mk({"split": split}, text, kind, labels))
    return rows


def _groups_in(text):
    return [g for r, g in GROUP_RES if r.search(text)]


def build(examples: list[dict], norm_fn: Callable[[str], str], seed: int = 13, per_kind: int = 700) -> list[dict]:
    """Synthetic examples for every split, from that split's rows (`examples` = all loaded rows)."""
    rng = random.Random(seed)
    out = []
    for split in ("train", "val", "test"):
        share = 1.0 if split == "train" else 0.2
        n_kind = int(per_kind * share)
        rows = [e for e in examples if e["split"] == split]
        hateful = [e for e in rows if e["w"][IDX["hate"]] == 1 and e["y"][IDX["hate"]] == 1
                   and e["source"] in ("hatemoji", "davidson", "edos") and 8 <= len(e["norm"]) <= 140]
        rng.shuffle(hateful)
        cand = []
        for e in hateful[:n_kind]:
            x = " ".join(e["norm"].split())
            cand.append(_mk(e, rng.choice(QUOTE_T).format(x=x), "counter_quote", NON_HATE))
        out += cand
        with_group = [(e, _groups_in(e["norm"])) for e in hateful]
        with_group = [(e, g) for e, g in with_group if g]
        rng.shuffle(with_group)
        for e, gs in with_group[:n_kind]:
            out.append(_mk(e, rng.choice(REFER_T).format(g=rng.choice(gs)), "counter_refer", NON_HATE))
        neg = []
        for e in hateful:
            t = " ".join(e["norm"].split())
            m = ARE_RE.match(t)
            if (m and _groups_in(m.group(1)) and len(m.group(1).split()) <= 3 and " are " not in m.group(2)
                    and m.group(1).split()[0].lower() not in NOT_SUBJECT):
                g, x = m.group(1).strip(), m.group(2).strip()
                tmpl = rng.choice(NEG_ARE_T)
                neg.append(_mk(e, tmpl.format(g=g, G=g[:1].upper() + g[1:], x=x), "negation", NON_HATE))
                continue
            m = IHATE_RE.search(t)
            if m and _groups_in(m.group(1)):
                neg.append(_mk(e, rng.choice(NEG_HATE_T).format(g=m.group(1).strip()), "negation", NON_HATE))
        rng.shuffle(neg)
        out += neg[:n_kind]
        for e, gs in with_group[n_kind:2 * n_kind]:
            g = rng.choice(gs)
            out.append(_mk(e, rng.choice(POS_T).format(g=g, G=g[:1].upper() + g[1:]), "positive_id", NON_HATE))
        rec = [e for e in rows if e["source"] == "davidson" and e["y"][IDX["hate"]] == 0
               and e["w"][IDX["hate"]] == 1 and RECLAIM_RE.search(e["norm"]) and len(e["norm"]) <= 140]
        rng.shuffle(rec)
        for e in rec[:n_kind // 2]:
            out.append(_mk(e, rng.choice(RECLAIM_T).format(x=" ".join(e["norm"].split())), "reclaimed", NON_HATE_ONLY))
        clean = [e for e in rows if (e["source"] == "sms" and e["strat"] == "ham")
                 or (e["source"] == "davidson" and e["strat"] == "neither")
                 or (e["source"] == "convabuse" and e["strat"] == "not_abusive" and len(e["norm"]) > 15)]
        rng.shuffle(clean)
        for e in clean[:n_kind // 2]:
            x = " ".join(e["norm"].split())
            out.append(_mk(e, rng.choice(PROF_T).format(p=rng.choice(PROFANITY), x=x), "profanity", NON_HATE))
    out += _template_rows(CRISIS_CORE, CRISIS_PRE, CRISIS_POST, "crisis", {"self-harm": 1}, rng, 700)
    out += _template_rows(CONTRAST_CORE, CRISIS_PRE[:1] + ["", "lol ", "ok so "], ["", ".", "!", " 🙏"], "crisis_contrast",
                          {"self-harm": 0}, rng, 700)
    out += _template_rows(THREAT_CORE, ["", "listen, ", "last warning: "], ["", ".", "!!"], "threat_person",
                          {"harassment": 1, "harassment/threatening": 1, "violence": 1, "hate": 0}, rng, 300)
    out += _template_rows(HOSTILITY_CORE, ["", "seriously, ", "@user "], ["", ".", "!"], "hostility",
                          {"harassment": 1, "harassment/threatening": 0, "hate": 0}, rng, 300)
    seen, unique = set(), []
    for e in out:
        e["norm"] = norm_fn(e["text"])
        e["key"] = " ".join(e["norm"].lower().split())
        if e["from_id"] is None and (e["key"], e["split"]) in seen:
            continue
        seen.add((e["key"], e["split"]))
        unique.append(e)
    return unique
