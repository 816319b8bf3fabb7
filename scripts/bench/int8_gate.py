"""Would int8 products be a safe precision plan? Builds int8 variants of the shipped model (dynamic quantisation of the
Linear products: int8 weights per output channel, activations quantised per call, ONNX-free, qengine `onednn`, which
uses VNNI where the CPU has it) and holds each against the fp32 plan:

  * decisions (every label at the manifest's thresholds) on the functional set, the self-harm contrast set and the
    held-out test rows of the training data: the share of texts whose decisions all agree with fp32 (the gate is
    >= 99.5 % on each set), the flips on harmful texts (the gate is none), and the largest |delta p|;
  * the speed of one forward (one thread; 1 x 16 and 4 x 128 tokens) against fp32 and bf16.

Variants: every product in int8 ("all"), and the same with the sensitive products kept in fp32 ("keep ..."): each
layer's FFN output product (the 1536 -> 384 product, whose inputs come out of GELU with a long tail), the first and
last layer, or both FFN products (only the attention projections in int8). The one that passes with the best speed
is what a plan could ship.

Usage: PYTHONPATH=scripts WARDEN_DATA=... /usr/bin/python3 -m bench.int8_gate [--model models/minilm-moderation]
           [--json OUT.json] [--save-best DIR]
"""
from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one thread for fp32 products too: read when OpenBLAS loads,
import numpy as np  # which numpy already does
import torch
import torch.nn.functional as F
from torch import nn

from bench.op_profile import median_ms
from train.common import encode_texts, predict, raw_text
from train.fast_graph import EPS, MASK_VALUE
from warden_tools.allocator import retain_allocator_memory
from warden_tools.functional_io import DEFAULT_CASES, DEFAULT_SELFHARM_CASES, load_cases, read_selfharm_cases
from warden_tools.paths import DEFAULT_MODEL
from warden_tools.warden_text import NORMALIZERS


class QuantLayer(nn.Module):
    """The fast graph's encoder layer with nn.Linear products (fp32 [out, in]), so dynamic quantisation can swap them;
    the attention products, softmax, GELU and LayerNorm stay in fp32."""

    def __init__(self, fast_layer: nn.Module):
        super().__init__()
        self.hidden = int(fast_layer.hidden)
        self.heads = int(fast_layer.heads)
        self.head_dim = self.hidden // self.heads
        self.eps = EPS

        def linear(w: torch.Tensor, b: torch.Tensor) -> nn.Linear:  # w: [in, out]
            lin = nn.Linear(w.size(0), w.size(1))
            lin.weight.data = w.float().t().contiguous()
            lin.bias.data = b.float().clone()
            return lin

        self.qkv = linear(fast_layer.qkv_w, fast_layer.qkv_b)
        self.o = linear(fast_layer.o_w, fast_layer.o_b)
        self.i = linear(fast_layer.i_w, fast_layer.i_b)
        self.out = linear(fast_layer.out_w, fast_layer.out_b)
        for name in ["ln1_w", "ln1_b", "ln2_w", "ln2_b"]:
            self.register_buffer(name, getattr(fast_layer, name).float().clone())

    def forward(self, x: torch.Tensor, additive: torch.Tensor) -> torch.Tensor:
        B = x.size(0)
        L = x.size(1)
        qkv = self.qkv(x).view(B, L, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        scores = torch.matmul(qkv[0], qkv[1].transpose(-1, -2))
        if additive.numel() > 0:
            scores = scores + additive
        ctx = torch.matmul(torch.softmax(scores, dim=-1), qkv[2]).transpose(1, 2).reshape(B, L, self.hidden)
        a = F.layer_norm(self.o(ctx) + x, [self.hidden], self.ln1_w, self.ln1_b, self.eps)
        o = self.out(F.gelu(self.i(a)))
        return F.layer_norm(o + a, [self.hidden], self.ln2_w, self.ln2_b, self.eps)


class QuantClassifier(nn.Module):
    """The fast graph's padded entry point over QuantLayers (fp32 embeddings, pooling and head)."""

    def __init__(self, fast: nn.Module):
        super().__init__()
        self.hidden = int(fast.hidden)
        self.eps = EPS
        self.mask_value = MASK_VALUE
        for name in ["word", "pos", "type0", "emb_ln_w", "emb_ln_b", "cls_w", "cls_b"]:
            self.register_buffer(name, getattr(fast, name).float().clone())
        self.layers = nn.ModuleList([QuantLayer(layer) for layer in fast.layers.children()])

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        L = input_ids.size(1)
        pos = torch.arange(L, dtype=torch.long).unsqueeze(0)
        x = F.embedding(input_ids, self.word) + F.embedding(pos, self.pos) + self.type0
        x = F.layer_norm(x, [self.hidden], self.emb_ln_w, self.emb_ln_b, self.eps)
        additive = (1.0 - attention_mask[:, None, None, :].float()) * self.mask_value
        for layer in self.layers:
            x = layer(x, additive)
        m = attention_mask.float().unsqueeze(-1)
        pooled = (x * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
        return torch.sigmoid(F.linear(pooled, self.cls_w, self.cls_b))


def quantised(fast: nn.Module, keep: set[str]) -> torch.jit.ScriptModule:
    """An int8 copy: every nn.Linear whose name is not in `keep` (e.g. "layers.5.out") quantised per channel."""
    model = QuantClassifier(fast).eval()
    spec = {name: torch.ao.quantization.per_channel_dynamic_qconfig
            for name, mod in model.named_modules() if isinstance(mod, nn.Linear) and name not in keep}
    q = torch.ao.quantization.quantize_dynamic(model, spec, dtype=torch.qint8)
    return torch.jit.script(q)


def variants(layers: int) -> dict[str, set[str]]:
    ffn_out = {f"layers.{i}.out" for i in range(layers)}
    return {
        "all products int8": set(),
        "keep FFN output products fp32": ffn_out,
        "keep first and last layer fp32": {f"layers.{i}.{p}" for i in (0, layers - 1) for p in ("qkv", "o", "i", "out")},
        "keep last layer fp32": {f"layers.{layers - 1}.{p}" for p in ("qkv", "o", "i", "out")},
        "attention projections only int8": {f"layers.{i}.{p}" for i in range(layers) for p in ("i", "out")},
    }


def decisions(p: np.ndarray, th: np.ndarray) -> np.ndarray:
    return p >= th[None, :]


def compare(name, p_ref, p_new, th, harmful) -> dict:
    d_ref, d_new = decisions(p_ref, th), decisions(p_new, th)
    text_agree = (d_ref == d_new).all(axis=1)
    return dict(set=name, texts=len(p_ref), agreement=float(text_agree.mean()),
                label_agreement=float((d_ref == d_new).mean()),
                flips_on_harmful=int((~text_agree & harmful).sum()),
                max_abs_dp=float(np.abs(p_ref - p_new).max()),
                mean_abs_dp=float(np.abs(p_ref - p_new).mean()))


def speed(fns: dict, reps: int) -> dict:
    out = {}
    for shape in [(1, 16), (4, 128)]:
        g = torch.Generator().manual_seed(3)
        ids = torch.randint(1000, 29000, shape, generator=g)
        mask = torch.ones(shape, dtype=torch.long)
        mask[:, -shape[1] // 8:] = 0  # some padding, as a padded batch has
        for name, fn in fns.items():
            with torch.inference_mode():
                ms = median_ms(lambda fn=fn, ids=ids, mask=mask: fn(ids, mask), reps)
            out.setdefault(f"{shape[0]} x {shape[1]}", {})[name] = round(ms, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--data", default=os.environ.get("WARDEN_DATA"))
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--test-cap", type=int, default=6000, help="held-out test rows scored (a fixed sample)")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--json")
    ap.add_argument("--save-best", help="write the fastest passing variant's TorchScript here (model-int8.pt)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    retain_allocator_memory()  # the heap settings the server runs under
    torch.backends.quantized.engine = "onednn" if "onednn" in torch.backends.quantized.supported_engines else "fbgemm"
    manifest = json.load(open(os.path.join(args.model, "manifest.json")))
    labels = manifest["labels"]
    th = np.array([manifest["thresholds"][lab] for lab in labels])
    norm = NORMALIZERS[manifest.get("text_normalization", "platform-v1")]
    bundle = torch.jit.load(os.path.join(args.model, "model.pt"), map_location="cpu").eval()
    fp32 = torch.jit.load(os.path.join(args.model, "model.pt"), map_location="cpu").eval().float()

    sets = {}
    cases = load_cases(DEFAULT_CASES)
    sets["functional set"] = ([c["text"] for c in cases],
                              np.array([bool(c["hateful"]) or c["expect"].get("flagged") == 1 for c in cases]))
    crisis = read_selfharm_cases(DEFAULT_SELFHARM_CASES)
    sets["self-harm contrast set"] = ([c["text"] for c in crisis], np.array([c["self_harm"] == 1 for c in crisis]))
    if args.data:
        from train.splits import load_data

        split, _ = load_data(argparse.Namespace(seed=13, data=args.data, max_len=args.max_len))
        rng = np.random.default_rng(5)
        test = split["test"]
        pick = rng.choice(len(test), size=min(args.test_cap, len(test)), replace=False)
        rows = [test[i] for i in pick]
        sets["held-out test rows"] = ([raw_text(r) for r in rows],
                                      np.array([any(y >= 0.5 and w > 0 for y, w in zip(r["y"], r["w"])) for r in rows]))
    encoded = {name: encode_texts(texts, norm, args.max_len) for name, (texts, _) in sets.items()}
    with torch.inference_mode():
        ref = {name: predict(fp32, seqs) for name, seqs in encoded.items()}
        results = {"bf16 (shipped)": [compare(n, ref[n], predict(bundle, s), th, sets[n][1]) for n, s in encoded.items()]}
        models = {}
        for vname, keep in variants(len(list(bundle.layers.children()))).items():
            models[vname] = quantised(bundle, keep)
            results[vname] = [compare(n, ref[n], predict(models[vname], s), th, sets[n][1]) for n, s in encoded.items()]
    timing = speed({"fp32": fp32, "bf16": bundle, **models}, args.reps)

    print(f"qengine {torch.backends.quantized.engine}; decisions against the fp32 plan; gate: >= 99.5 % agreement on "
          "each set, no flip on a harmful text\n")
    print("| variant | set | texts | texts agreeing | label decisions agreeing | flips on harmful | max abs dp | mean abs dp "
          "| gate |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    passing = {}
    for vname, rows in results.items():
        ok = all(r["agreement"] >= 0.995 and r["flips_on_harmful"] == 0 for r in rows)
        passing[vname] = ok
        for r in rows:
            print(f"| {vname} | {r['set']} | {r['texts']} | {100 * r['agreement']:.2f} % | {100 * r['label_agreement']:.3f} % "
                  f"| {r['flips_on_harmful']} | {r['max_abs_dp']:.3f} | {r['mean_abs_dp']:.4f} | {'pass' if ok else 'fail'} |")
    print("\n| forward, one thread (median ms) | " + " | ".join(timing["1 x 16"]) + " |")
    print("|---|" + "---:|" * len(timing["1 x 16"]))
    for shape, row in timing.items():
        print(f"| {shape} | " + " | ".join(f"{v:.2f}" for v in row.values()) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(results=results, timing=timing, passing=passing, qengine=torch.backends.quantized.engine), f,
                      indent=1)
    best = [v for v in models if passing[v]]
    if args.save_best and best:
        fastest = min(best, key=lambda v: timing["4 x 128"][v])
        os.makedirs(args.save_best, exist_ok=True)
        models[fastest].save(os.path.join(args.save_best, "model-int8.pt"))
        print(f"saved {fastest} to {args.save_best}/model-int8.pt")


if __name__ == "__main__":
    main()
