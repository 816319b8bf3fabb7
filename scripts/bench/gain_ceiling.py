"""The highest batching gain the model can reach on this CPU, measured: how far batching or packing could ever
take the chat corpus, compared with scoring each message on its own (`warden serve --max-batch-size 1`).

Batching cannot make the Linear layers' products cheaper than the CPU's GEMM rate allows: a batched forward
costs at least the products' time for its tokens. So with

  T1    = the time of the unbatched forwards over the corpus (one [1, n] forward per window, measured per
          length with the shipped graph: per-call overhead + per-token work + attention);
  Tmm   = the corpus's tokens times the measured time per token of the six layers' products alone, run at
          the shape of a full packed batch (4 rows x 128 tokens, the real weights, the product dtype);
  Tpack = the corpus's tokens times the measured time per token of a full packed forward (forward_packed,
          4 rows x 128, rows filled with segments of the corpus's mean window length),

the ceiling T1 / Tmm bounds the gain of any graph that keeps these products (every non-product op free),
and T1 / Tpack is the model-side gain of today's packed forward. HTTP, tokenization and batching overhead
add the same per message to both sides, so the HTTP gain is lower than either.

The packed forward is also timed in rows of a half and a quarter of the width (as many tokens), the narrower
widths the engine may pack a batch into. Tmm and the packed forwards are timed in alternation, round after
round, so that their ratios hold even when the machine's speed drifts during the run; the process uses the
heap settings the server runs under (warden_tools.allocator).

One thread, as each of Warden's default 2 backend workers runs. Run it on an otherwise idle machine.

Usage: PYTHONPATH=scripts /usr/bin/python3 -m bench.gain_ceiling [--model models/minilm-moderation]
           [--corpus Benchmarks/corpus/chat.txt]
       (needs a built warden, for `warden tokenize`: swift build -c release --product warden)
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time

import torch

from warden_tools.allocator import retain_allocator_memory
from warden_tools.paths import CHAT_CORPUS, DEFAULT_MODEL, warden_binary


def window_lengths(ids, max_len, overlap):
    """The lengths ([CLS] + pieces + [SEP]) of the windows Warden scores a text as (overlap as the default)."""
    pieces = len(ids) - 2
    span = max_len - 2
    if pieces <= span:
        return [pieces + 2]
    lengths, start = [], 0
    while True:
        end = min(start + span, pieces)
        lengths.append(end - start + 2)
        if end == pieces:
            return lengths
        start = end - overlap


def timed(fn, repeats):
    with torch.no_grad():
        fn()
        fn()
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def timed_interleaved(fns, repeats):
    """The median time of each of `fns`, timed in turn within each of `repeats` rounds, so that the machine's drift
    during the run (other tenants, frequency) reaches every one alike and their ratios stay comparable."""
    with torch.no_grad():
        for fn in fns:
            fn()
            fn()
        runs = [[] for _ in fns]
        for _ in range(repeats):
            for fn, times in zip(fns, runs):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
    return [statistics.median(times) for times in runs]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--corpus", default=CHAT_CORPUS)
    ap.add_argument("--warden", default=None,
                    help="warden binary (default $WARDEN_BINARY, else .build/release/warden, else .build/debug/warden)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per shape; the median is used")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    retain_allocator_memory()  # the heap settings the server runs under

    manifest = json.load(open(os.path.join(args.model, "manifest.json")))
    max_len = int(manifest["max_sequence_length"])
    model = torch.jit.load(os.path.join(args.model, manifest["model_file"]), map_location="cpu").eval()
    if not hasattr(model, "forward_packed"):
        sys.exit("this bundle has no forward_packed entry point")

    warden = args.warden or warden_binary()
    if not warden:
        sys.exit("no warden binary: swift build -c release --product warden (or pass --warden)")
    with open(args.corpus, "rb") as corpus:
        out = subprocess.run([warden, "tokenize", "--max-length", "100000"], stdin=corpus, capture_output=True, check=True)
    lines = out.stdout.decode().splitlines()
    windows = [n for line in lines if line.strip() for n in window_lengths(line.split(), max_len, overlap=32)]
    counts = collections.Counter(windows)
    tokens = sum(windows)
    print(f"corpus: {len(lines)} messages, {len(windows)} windows, {tokens} tokens "
          f"(mean {tokens / len(windows):.1f} per window)")

    # T1: one unbatched forward per window, timed once per distinct length.
    per_length = {}
    for n in sorted(counts):
        ids = torch.randint(1000, 20000, (1, n))
        mask = torch.ones(1, n, dtype=torch.long)
        per_length[n] = timed(lambda ids=ids, mask=mask: model(ids, mask), args.repeats)
    t1 = sum(per_length[n] * c for n, c in counts.items())

    # Tmm: the products of the six layers alone, at a full packed batch's shape, with the bundle's weights.
    rows, row_len = 4, 128
    m = rows * row_len
    state = model.state_dict()
    products = [state[k] for k in sorted(state) if k.startswith("layers.") and k.endswith(("qkv_w", "o_w", "i_w", "out_w"))]
    inputs = {w.size(0): torch.randn(m, w.size(0)).to(w.dtype) for w in products}
    flops = sum(2 * w.size(0) * w.size(1) for w in products)

    # Tpack: a full packed forward, rows filled with segments of the corpus's mean window length (a row's last
    # segment is cut to fit, so every token is a message's). Also at the narrower widths the engine may pack a
    # batch into (a quarter and half of the row), with as many tokens: attention's share shrinks with the width.
    seg = max(1, round(tokens / len(windows)))

    def packed_batch(width):
        count = m // width
        input_ids = torch.randint(1000, 20000, (count, width))
        position_ids = torch.zeros(count, width, dtype=torch.long)
        segment_ids = torch.zeros(count, width, dtype=torch.long)
        for r in range(count):
            start, s = 0, 1
            while start < width:
                length = min(seg, width - start)
                position_ids[r, start:start + length] = torch.arange(length)
                segment_ids[r, start:start + length] = s
                start, s = start + length, s + 1
        return input_ids, position_ids, segment_ids

    widths = [row_len, row_len // 2, row_len // 4]
    batches = {w: packed_batch(w) for w in widths}
    # Timed in alternation: their ratios are the figures that matter, and drift must not move them.
    times = timed_interleaved(
        [lambda: [torch.matmul(inputs[w.size(0)], w) for w in products]]
        + [lambda b=batches[w]: model.forward_packed(*b) for w in widths], 3 * args.repeats)
    mm_per_token = times[0] / m
    pack_per_token = times[1] / m
    per_width = {w: t / m for w, t in zip(widths, times[1:])}

    figures = {
        "windows": len(windows), "tokens": tokens,
        "unbatched_seconds": t1, "unbatched_ms_per_window": 1e3 * t1 / len(windows),
        "products_us_per_token": 1e6 * mm_per_token, "products_gflops": flops / mm_per_token / 1e9,
        "packed_us_per_token": 1e6 * pack_per_token, "packed_over_products": pack_per_token / mm_per_token,
        "ceiling_gain": t1 / (tokens * mm_per_token), "packed_model_gain": t1 / (tokens * pack_per_token),
        "packed_us_per_token_by_width": {w: 1e6 * t for w, t in per_width.items()},
    }
    print(f"unbatched forwards: {t1:.2f} s for the corpus ({figures['unbatched_ms_per_window']:.2f} ms per window; "
          f"1 x 8 tokens {1e3 * per_length.get(8, float('nan')):.2f} ms, "
          f"1 x 128 {1e3 * per_length.get(128, float('nan')):.2f} ms)")
    print(f"products alone at {rows} x {row_len}: {figures['products_us_per_token']:.1f} us per token "
          f"({flops / 1e6:.1f} MFLOP per token, {figures['products_gflops']:.0f} GFLOP/s)")
    print(f"packed forward at {rows} x {row_len}, segments of {seg}: {figures['packed_us_per_token']:.1f} us per token "
          f"(products {100 * mm_per_token / pack_per_token:.0f} % of it; "
          f"{figures['packed_over_products']:.2f}x the products alone)")
    for w in widths[1:]:
        print(f"packed forward at {m // w} x {w}: {1e6 * per_width[w]:.1f} us per token "
              f"({per_width[w] / mm_per_token:.2f}x the products alone; model-side gain {t1 / (tokens * per_width[w]):.2f}x)")
    print(f"model-side gain of today's packed forward at {rows} x {row_len}: {figures['packed_model_gain']:.2f}x")
    print(f"ceiling of the gain (every op outside the products free): {figures['ceiling_gain']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
