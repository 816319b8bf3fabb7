#!/usr/bin/env python3
"""Adds CPU-independent fp32 reference probabilities to the default model's golden file.

The shipped model computes in bf16, and bf16 matrix products accumulate in a different order on different
CPUs (AVX-512 BF16 vs AMX kernels in oneDNN), so its probabilities move in the last digits from one CPU to
another. The same weights upcast to fp32 agree on every x86-64 CPU to about 1e-6. For each golden item this
writes `probabilities_fp32`: the model file loaded with torch.jit.load, converted with `.float()` (what Warden's
`TorchPrecision.float32` does through the shim), called on the item's token ids alone (batch 1, no padding).
It also records which CPU computed the bf16 `probabilities` (`bf16_cpu`), so a reader knows where they hold
exactly.

  # from the repository root
  PYTHONPATH=scripts /usr/bin/python3 -m train.golden_fp32                       # the committed golden and model
  PYTHONPATH=scripts /usr/bin/python3 -m train.golden_fp32 --golden G --model M  # another pair
  PYTHONPATH=scripts /usr/bin/python3 -m train.golden_fp32 --recompute-bf16      # after re-exporting the same
                                                                                 # weights in another graph
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess

import torch

from warden_tools.paths import DEFAULT_MODEL, FIXTURES


def cpu_description() -> dict:
    """lscpu's model name and the flags that decide which bf16 kernels oneDNN runs."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return dict(model_name="unknown", bf16_flags=[])
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    flags = fields.get("Flags", "").split()
    wanted = [f for f in flags if f.startswith("amx") or f in ("avx512_bf16", "avx512f", "avx2")]
    return dict(model_name=fields.get("Model name", "unknown").strip(), bf16_flags=sorted(wanted))


def fp32_probabilities(model_file: str, items: list[dict], upcast: bool = True) -> list[list[float]]:
    """Each item's probabilities from the model's weights upcast to fp32 (or as stored), one text per call."""
    torch.set_num_threads(1)
    model = torch.jit.load(model_file, map_location="cpu").eval()
    if upcast:
        model = model.float()
    out = []
    with torch.no_grad():
        for item in items:
            ids = torch.tensor([item["token_ids"]], dtype=torch.long)
            out.append(model(ids, torch.ones_like(ids))[0].tolist())
    return out


def add_fp32_reference(doc: dict, model_file: str) -> dict:
    """Adds `probabilities_fp32` to every item of a golden document and notes the CPU; returns `doc`."""
    for item, probabilities in zip(doc["items"], fp32_probabilities(model_file, doc["items"])):
        item["probabilities_fp32"] = probabilities
    doc["fp32_tolerance"] = 1e-5
    doc["bf16_cpu"] = cpu_description()
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--golden", default=os.path.join(FIXTURES, "default_model_golden.json"))
    ap.add_argument("--model", default=os.path.join(DEFAULT_MODEL, "model.pt"))
    ap.add_argument("--recompute-bf16", action="store_true",
                    help="also recompute the as-stored `probabilities` (the model file changed, the texts did not)")
    ap.add_argument("--keep-cpu", action="store_true",
                    help="keep the recorded bf16_cpu (use when the bf16 probabilities were not computed here)")
    args = ap.parse_args()
    with open(args.golden, encoding="utf-8") as f:
        doc = json.load(f)
    previous_cpu = doc.get("bf16_cpu")
    if args.recompute_bf16:
        for item, probabilities in zip(doc["items"], fp32_probabilities(args.model, doc["items"], upcast=False)):
            item["probabilities"] = probabilities
    add_fp32_reference(doc, args.model)
    if args.keep_cpu and previous_cpu:
        doc["bf16_cpu"] = previous_cpu
    with open(args.golden, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    print(f"{args.golden}: fp32 reference for {len(doc['items'])} items; bf16 CPU {doc['bf16_cpu']}")


if __name__ == "__main__":
    main()
