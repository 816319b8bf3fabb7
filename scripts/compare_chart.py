#!/usr/bin/env python3
"""Chart for `warden compare A B FILE --png OUT`: model A's score against model B's, one panel per category.

Each point is a record; the dashed lines are each model's threshold, so the off-diagonal quadrants hold the records
whose decisions differ. Needs matplotlib (Debian: apt-get install -y python3-matplotlib).
usage: compare_chart.py SCORES.csv OUT.png [NAME_A NAME_B]
"""
import csv
import math
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    src, out = sys.argv[1], sys.argv[2]
    name_a, name_b = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else ("model A", "model B")
    points, thresholds = defaultdict(list), {}
    for row in csv.DictReader(open(src, encoding="utf-8")):
        points[row["category"]].append((float(row["score_a"]), float(row["score_b"])))
        thresholds[row["category"]] = (float(row["threshold_a"]), float(row["threshold_b"]))
    cols = min(4, len(points)) or 1
    rows = math.ceil(len(points) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, (category, pts) in zip(axes.flat, points.items()):
        ax.set_visible(True)
        ta, tb = thresholds[category]
        differ = sum((a >= ta) != (b >= tb) for a, b in pts)
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=4, alpha=0.35, color="#1f5fa8", linewidths=0)
        ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.8)
        ax.axvline(ta, color="#c0392b", linestyle="--", linewidth=0.8)
        ax.axhline(tb, color="#c0392b", linestyle="--", linewidth=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(f"{category}\n{differ} of {len(pts)} decisions differ", fontsize=9)
        ax.set_xlabel(name_a, fontsize=8)
        ax.set_ylabel(name_b, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
