"""Export and its checks: the shipped labels' head, the TorchScript variants, shape checks, the speed run (in a
fresh process), the golden file for the Swift test, and v1's probabilities on the same rows."""
from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

from train import moderation_data as md
from train.common import encode_texts, make_tokenizer, pad_batch, predict, raw_text
from train.golden_fp32 import add_fp32_reference
from train.spec import IDX
from warden_tools.paths import SCRIPTS
from warden_tools.warden_text import normalize_platform_v1

SPECIAL = ["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"]


def ship_model(model, labels):
    m = copy.deepcopy(model).eval()
    rows = [IDX[l] for l in labels]
    lin = nn.Linear(m.classifier.in_features, len(rows))
    with torch.no_grad():
        lin.weight.copy_(model.classifier.weight[rows])
        lin.bias.copy_(model.classifier.bias[rows])
    m.classifier = lin
    return m


def build_variant(model, name):
    m = copy.deepcopy(model).eval()
    if name == "bf16":
        m.bert.to(torch.bfloat16)
    return torch.jit.script(m)


def check_shapes(path, ref_model, tol, n_labels):
    loaded = torch.jit.load(path)
    worst = 0.0
    g = torch.Generator().manual_seed(1)
    for B in (1, 3, 8):
        for L in (1, 5, 17, 128):
            ids = torch.randint(1000, 30000, (B, L), generator=g)
            ids[:, 0] = 101
            ids[:, -1] = 102
            am = torch.ones(B, L, dtype=torch.long)
            if B > 1 and L > 2:
                am[1:, L // 2 + 1:] = 0
                ids[1:, L // 2 + 1:] = 0
            with torch.no_grad():
                out = loaded(ids, am)
                ref = ref_model(ids, am)
            assert out.dtype == torch.float32 and tuple(out.shape) == (B, n_labels), (out.dtype, out.shape)
            worst = max(worst, (out - ref).abs().max().item())
    assert worst <= tol, f"{path}: max |delta| vs eager fp32 {worst} > {tol}"
    return worst


def bench(paths, threads, calls, corpus, norms, seed=0):
    """Runs in a fresh process: all model files loaded in one process, timed interleaved call by call on
    the same fresh random chat batches."""
    cmd = [sys.executable, "-m", "train", "--bench", ",".join(os.path.abspath(p) for p in paths),
           "--bench-norms", ",".join(norms), "--bench-threads", str(threads), "--bench-calls", str(calls),
           "--bench-corpus", os.path.abspath(corpus), "--seed", str(seed)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=SCRIPTS).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_main(args):
    from warden_tools.warden_text import NORMALIZERS
    torch.set_num_threads(args.bench_threads)
    tok = make_tokenizer(128)
    msgs = [l.rstrip("\n") for l in open(args.bench_corpus, encoding="utf-8") if l.strip()]
    paths = args.bench.split(",")
    norms = [NORMALIZERS.get(n, normalize_platform_v1) for n in args.bench_norms.split(",")]
    models = [torch.jit.load(p) for p in paths]
    rng = random.Random(args.seed)
    res = {p: {} for p in paths}
    for B, calls in ((1, args.bench_calls), (32, max(10, args.bench_calls // 4))):
        times = {p: [] for p in paths}
        for i in range(calls + 10):
            texts = rng.sample(msgs, B)
            for p, m, nf in zip(paths, models, norms):
                ids, am = pad_batch([tok.encode(nf(t)).ids for t in texts])
                t0 = time.perf_counter()
                with torch.no_grad():
                    m(ids, am)
                dt = time.perf_counter() - t0
                if i >= 10:
                    times[p].append(dt * 1000)
        for p in paths:
            res[p][f"batch{B}"] = dict(median_ms=float(np.median(times[p])), mean_ms=float(np.mean(times[p])),
                                       p90_ms=float(np.percentile(times[p], 90)), calls=len(times[p]),
                                       per_message_ms=float(np.median(times[p])) / B)
    res["loadavg"] = os.getloadavg()
    print(json.dumps(res))


def write_golden(path, default_file, test_ex, labels, max_len, seed, n_per_source, norm_name):
    norm_fn = md.normalizer()
    tok_full = make_tokenizer(100000)
    tok = make_tokenizer(max_len)
    rng = random.Random(seed)
    bad = lambda t: any(s.lower() in t.lower() for s in SPECIAL)
    chosen = []
    for s, n in n_per_source.items():
        pool = [e for e in test_ex if e["source"] == s and not bad(e["text"])]
        rng.shuffle(pool)
        longs = [e for e in pool if len(tok_full.encode(e["norm"]).ids) > max_len][:max(2, n // 6)]
        pos = [e for e in pool if e not in longs and any(e["y"][IDX[l]] == 1 and e["w"][IDX[l]] == 1 for l in labels)]
        neg = [e for e in pool if e not in longs and e not in pos]
        k = n - len(longs)
        chosen += longs + pos[:k // 2] + neg[:k - k // 2]
    synth = []
    for s in ("davidson", "edos", "sms"):
        pool = [e for e in test_ex if e["source"] == s and not bad(e["text"])]
        for i in range(3):
            parts = rng.sample(pool, 14)
            synth.append(dict(source=s, id=f"{s}:joined{i}", text=" ".join(raw_text(p) for p in parts),
                              y=None, w=None, joined_from=[p["id"] for p in parts]))
    model = torch.jit.load(default_file)
    items = []
    for e in chosen + synth:
        text = raw_text(e) if e.get("y") is not None else e["text"]
        norm = norm_fn(text)
        full = len(tok_full.encode(norm).ids)
        ids = tok.encode(norm).ids
        with torch.no_grad():
            p = model(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))[0].tolist()
        item = dict(id=e["id"], source=e["source"], text=text, normalized_text=norm, token_ids=ids,
                    untruncated_length=full, truncated=full > max_len, probabilities=p)
        if e.get("y") is not None:
            item["labels"] = {l: (e["y"][IDX[l]] if e["w"][IDX[l]] == 1.0 else None) for l in labels}
        if "joined_from" in e:
            item["joined_from_test_ids"] = e["joined_from"]
        items.append(item)
    doc = dict(
        description="Golden outputs of the default Warden moderation model (models/minilm-moderation). "
                    f"Each text: {norm_name} normalisation, then the base model's tokenizer.json (HF tokenizers), "
                    "[CLS] ... [SEP] truncated to max_sequence_length, then the exported TorchScript file "
                    "(torch.jit.load) called with ONE text per call (batch 1, no padding). Texts come from the "
                    "test split (EDOS's [USER]/[URL] markers written as @user/http); entries with "
                    "joined_from_test_ids are several test texts joined by spaces to exercise truncation.",
        model_file="models/minilm-moderation/model.pt", labels=labels, max_sequence_length=max_len,
        text_normalization=norm_name, torch_version=torch.__version__, tolerance=1e-4,
        count=len(items), items=items)
    add_fp32_reference(doc, default_file)
    env = max(abs(a - b) for it in items for a, b in zip(it["probabilities"], it["probabilities_fp32"]))
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    return dict(count=len(items), truncated=sum(i["truncated"] for i in items),
                by_source={s: sum(i["source"] == s for i in items) for s in n_per_source},
                max_abs_bf16_vs_fp32=env)


def v1_probs(v1_file, exs, max_len):
    """v1 (3 labels, platform-v1) on the same rows: its own normalisation of the same raw text."""
    model = torch.jit.load(v1_file)
    seqs = encode_texts([raw_text(e) if e["source"] != "synthetic" else e["text"] for e in exs], normalize_platform_v1, max_len)
    return predict(model, seqs)
