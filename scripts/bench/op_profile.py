"""Where one forward's time goes, per kind of operation: Warden's graph (libtorch, as the server runs it) side by side
with ONNX Runtime on the same architecture (the peer kit's MiniLM-L6 export, fp32, ORT's default graph optimisations).

Both run one intra-op thread (and one OpenBLAS thread), as each of Warden's default backend workers and each of the
peer's workers does. Three shapes: a lone short message (1 x 16 tokens), a full packed batch (4 rows x 128 tokens),
and the same 32 messages in rows of 32 tokens (16 x 32, as a fitted row width packs them). Warden's graph runs the
entry point the server uses for each (the padded `forward` for a lone message, `forward_packed` with 16-token
messages otherwise) in each precision given; ONNX Runtime runs its padded graph at the same shapes, which is the
same number of tokens through the products (its attention is over the full row, as packing's is).

For each side: the median wall time of a forward without the profiler, then the self time per kind of op under the
profiler (torch's autograd profiler; ORT's session profiler), per forward. The profilers add overhead, so compare the
shares and the per-op figures, and take totals from the wall times.

Usage (the peer kit's venv has onnxruntime and sees Debian's torch):
  PYTHONPATH=scripts /tmp/peers/venv-hf/bin/python -m bench.op_profile [--model models/minilm-moderation]
      [--onnx /tmp/peers/artifacts/minilm_cls.onnx] [--precisions bf16,fp32] [--json OUT.json]
Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one thread for fp32 products too: read when OpenBLAS loads,
import numpy as np  # which numpy already does
import torch

from warden_tools.allocator import retain_allocator_memory
from warden_tools.paths import DEFAULT_MODEL

# The kind of each op, by its name in ATen or ONNX Runtime.
KINDS = {
    "products": {"aten::mm", "aten::bmm", "aten::addmm", "aten::matmul", "aten::linear", "MatMul", "Gemm",
                 "FusedMatMul", "MatMulIntegerToFloat", "QAttention", "Attention"},
    "softmax": {"aten::_softmax", "aten::softmax", "Softmax"},
    "GELU": {"aten::gelu", "Gelu", "BiasGelu", "FastGelu", "Erf"},
    "LayerNorm": {"aten::native_layer_norm", "aten::layer_norm", "LayerNormalization", "SkipLayerNormalization",
                  "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization"},
    "add, mul, masks": {"aten::add_", "aten::add", "aten::mul", "aten::mul_", "aten::div", "aten::sub", "aten::rsub",
                        "aten::eq", "aten::gt", "aten::__and__", "aten::__or__", "aten::bitwise_not", "aten::sigmoid",
                        "aten::sum", "aten::clamp", "aten::max", "aten::eye", "aten::arange",
                        "Add", "Mul", "Div", "Sub", "Sigmoid", "ReduceSum", "ReduceMean", "Where", "Equal", "Not",
                        "Pow", "Sqrt", "Clip", "Max"},
    "copies, casts, layout": {"aten::copy_", "aten::to", "aten::_to_copy", "aten::contiguous", "aten::clone",
                              "aten::empty", "aten::empty_strided", "aten::reshape", "aten::view", "aten::permute",
                              "aten::transpose", "aten::select", "aten::unsqueeze", "aten::expand", "aten::embedding",
                              "aten::index_select", "aten::_unsafe_view", "aten::t", "aten::slice", "aten::resize_",
                              "aten::item", "aten::_local_scalar_dense", "aten::as_strided", "aten::detach",
                              "aten::ones_like", "aten::zeros", "aten::fill_", "aten::float",
                              "Cast", "Transpose", "Reshape", "Unsqueeze", "Gather", "Shape", "Concat", "Slice",
                              "Expand", "Squeeze", "ConstantOfShape", "Identity"},
}
KIND_OF = {op: kind for kind, ops in KINDS.items() for op in ops}
ORDER = list(KINDS) + ["other"]


def kind_of(op: str) -> str:
    return KIND_OF.get(op, "other")


def packed_inputs(rows: int, width: int, per_row: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[rows, width] ids, positions and segments: `per_row` equal messages per row, each starting at position 0."""
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(1000, 29000, (rows, width), generator=g)
    seg_len = width // per_row
    pos = torch.arange(seg_len).repeat(per_row).unsqueeze(0).expand(rows, width).contiguous()
    seg = (torch.arange(width) // seg_len + 1).unsqueeze(0).expand(rows, width).contiguous()
    ids[:, ::seg_len] = 101  # each message starts with [CLS]
    return ids, pos, seg


def median_ms(fn, reps: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def torch_side(model_dir: str, precision: str, shape: tuple[int, int, int], reps: int) -> dict:
    module = torch.jit.load(os.path.join(model_dir, "model.pt"), map_location="cpu").eval()
    if precision == "fp32":
        module = module.float()
    rows, width, per_row = shape
    ids, pos, seg = packed_inputs(rows, width, per_row)
    if per_row == 1:  # one message per row: Warden runs the padded entry point (no mask when nothing is padded)
        mask = torch.ones_like(ids)

        def run():
            return module(ids, mask)
    else:

        def run():
            return module.forward_packed(ids, pos, seg)
    with torch.inference_mode():
        wall = median_ms(run, reps)
        with torch.autograd.profiler.profile() as prof:
            for _ in range(reps):
                run()
    per_op: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])
    for e in prof.key_averages():
        per_op[e.key][0] += e.self_cpu_time_total / 1e3 / reps
        per_op[e.key][1] += e.count // reps
    return dict(wall_ms=wall, ops={k: dict(ms=v[0], calls=v[1]) for k, v in per_op.items()})


def ort_side(onnx_path: str, shape: tuple[int, int, int], reps: int) -> dict:
    import onnxruntime as ort  # the peer kit's venv

    rows, width, _ = shape
    ids = np.random.default_rng(7).integers(1000, 29000, (rows, width)).astype(np.int64)
    ids[:, 0] = 101
    mask = np.ones((rows, width), dtype=np.int64)

    def session(profile: bool):
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
        if profile:
            so.enable_profiling = True
            so.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "ort")
        return ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])

    feeds = {"input_ids": ids, "attention_mask": mask}
    plain = session(False)
    wall = median_ms(lambda: plain.run(None, feeds), reps)
    prof = session(True)
    for _ in range(3 + reps):
        prof.run(None, feeds)
    events = json.load(open(prof.end_profiling()))
    starts = sorted(e["ts"] for e in events if e.get("cat") == "Session" and e.get("name") == "model_run")
    cutoff = starts[3] if len(starts) > 3 else 0  # the three warm-up runs are in the file too: skip them
    runs = len(starts) - 3
    per_op: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time") and e["ts"] >= cutoff:
            op = e.get("args", {}).get("op_name", "?")
            per_op[op][0] += e["dur"] / 1e3
            per_op[op][1] += 1
    runs = max(runs, 1)
    return dict(wall_ms=wall, ops={k: dict(ms=v[0] / runs, calls=v[1] // runs) for k, v in per_op.items()})


def by_kind(side: dict) -> dict[str, float]:
    out = dict.fromkeys(ORDER, 0.0)
    for op, v in side["ops"].items():
        out[kind_of(op)] += v["ms"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--onnx", default="/tmp/peers/artifacts/minilm_cls.onnx")
    ap.add_argument("--precisions", default="bf16,fp32")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--json", help="write every op's figures here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    retain_allocator_memory()  # the heap settings the server runs under
    # The same 512 tokens (32 messages of 16) in 128-token rows and in 32-token rows: what the row width costs.
    shapes = {"1 x 16": (1, 16, 1), "4 x 128": (4, 128, 8), "16 x 32": (16, 32, 2)}
    result: dict[str, dict] = {}
    for label, shape in shapes.items():
        sides = {f"warden {p}": torch_side(args.model, p, shape, args.reps) for p in args.precisions.split(",")}
        if os.path.isfile(args.onnx):
            sides["onnxruntime fp32"] = ort_side(args.onnx, shape, args.reps)
        result[label] = sides
        names = list(sides)
        print(f"\n### {label} (rows x tokens), ms per forward, one thread\n")
        print("| | " + " | ".join(names) + " |")
        print("|---|" + "---:|" * len(names))
        print("| wall time, no profiler (median) | " + " | ".join(f"{sides[n]['wall_ms']:.2f}" for n in names) + " |")
        kinds = {n: by_kind(sides[n]) for n in names}
        total = {n: sum(kinds[n].values()) for n in names}
        print("| self time under the profiler | " + " | ".join(f"{total[n]:.2f}" for n in names) + " |")
        for k in ORDER:
            cells = [f"{kinds[n][k]:.2f} ({100 * kinds[n][k] / max(total[n], 1e-9):.0f} %)" for n in names]
            print(f"| {k} | " + " | ".join(cells) + " |")
        for n in names:
            top = sorted(sides[n]["ops"].items(), key=lambda kv: -kv[1]["ms"])[:8]
            print(f"\n{n}, top ops: " + ", ".join(f"{op} {v['ms']:.2f} ms x{v['calls']}" for op, v in top))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
