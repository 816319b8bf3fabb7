#!/usr/bin/env python3
"""Chart for `warden tune --csv FILE --png OUT`: throughput and p99 latency against maxBatchSize.

One line per (layout, threads, queue delay) series; left panel messages/s, right panel p99 ms (log scale).
Needs matplotlib (Debian: apt-get install -y python3-matplotlib).
usage: tune_chart.py TUNE.csv OUT.png
"""
import csv
import sys
from collections import defaultdict

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main():
    src, out = sys.argv[1], sys.argv[2]
    series = defaultdict(list)
    for row in csv.DictReader(open(src)):
        key = f"{row.get('layout', 'padded')}, w{row['workers']} t{row['torch_threads']} b{row['blas_threads']}, delay {row['max_queue_delay_ms']} ms"
        series[key].append((int(row["max_batch_size"]), float(row["messages_per_s"]), float(row["p99_ms"])))
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, pts in sorted(series.items()):
        pts.sort()
        xs = [p[0] for p in pts]
        a.plot(xs, [p[1] for p in pts], marker="o", label=key)
        b.plot(xs, [p[2] for p in pts], marker="o", label=key)
    for ax, title in ((a, "throughput (messages/s)"), (b, "p99 latency per call (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("maxBatchSize")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    b.set_yscale("log")
    a.legend(fontsize=7)
    fig.suptitle("warden tune")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
