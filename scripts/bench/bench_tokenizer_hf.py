#!/usr/bin/env python3
"""Hugging Face `tokenizers` side of scripts/bench_tokenizer.sh: single-threaded encode throughput on
CORPUS repeated REPEAT times, truncated to MAX_LENGTH, one text at a time and with encode_batch
(RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false). Best of 5 runs."""
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from warden_tools.tokenizer_reference import load_references  # noqa: E402 (after the thread settings)

corpus, repeat, max_length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = [l for l in open(corpus, encoding="utf-8").read().split("\n") if l]
texts = lines * repeat
nbytes = sum(len(t.encode("utf-8")) for t in texts)
hf, _ = load_references()
hf.enable_truncation(max_length=max_length)
hf.encode_batch(texts[:2000])


def run(label, fn):
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        tokens = fn()
        best = min(best, time.perf_counter() - t0)
    print(f"{label}: {len(texts)} texts, {nbytes / 1e6:.2f} MB, {tokens} tokens, best of 5: {best:.3f} s, "
          f"{len(texts) / best:.0f} texts/s, {nbytes / 1e6 / best:.2f} MB/s")


run("hf tokenizers encode (one at a time)", lambda: sum(len(hf.encode(t).ids) for t in texts))
run("hf tokenizers encode_batch (1 thread)", lambda: sum(len(e.ids) for e in hf.encode_batch(texts)))
