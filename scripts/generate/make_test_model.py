#!/usr/bin/env python3
"""Writes the tiny test model bundle under Tests/Fixtures/ (run with Debian's /usr/bin/python3 + python3-torch).

    PYTHONPATH=scripts /usr/bin/python3 -m generate.make_test_model

Outputs (all small enough to commit):
  Tests/Fixtures/tiny-bert/model.pt          a 2-layer, hidden-32 BERT-shaped classifier (TorchScript, traced)
  Tests/Fixtures/tiny-bert/manifest.json     its bundle manifest (3 sigmoid labels, real tokenizer/)
  Tests/Fixtures/tiny-bert/golden.json       inputs and the outputs Python computed, at several shapes
  Tests/Fixtures/tiny-bert-packed/           the same shape of model as Warden's fast graph (train/fast_graph.py,
                                             fp32, random weights, full 30,522-id vocabulary) with the packed
                                             entry point forward_packed declared in its manifest
  Tests/Fixtures/bad-models/wrong_signature.pt   forward(input_ids) only
  Tests/Fixtures/bad-models/wrong_output.pt      returns a 1-D tensor
  Tests/Fixtures/bad-models/not_torchscript.pt   plain bytes
The model reads ids modulo its small vocabulary, so any BERT id (up to 30,521) is valid input.
"""
import json
import math
import os

import torch
from torch import nn

from warden_tools.paths import FIXTURES as OUT
from warden_tools.paths import REPO as ROOT

VOCAB, HIDDEN, HEADS, LAYERS, FFN, POSITIONS, LABELS = 1024, 32, 4, 2, 64, 128, 3


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(HIDDEN, 3 * HIDDEN)
        self.out = nn.Linear(HIDDEN, HIDDEN)
        self.norm1 = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.ff1 = nn.Linear(HIDDEN, FFN)
        self.ff2 = nn.Linear(FFN, HIDDEN)
        self.norm2 = nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, x, bias):
        b, l, _ = x.shape
        q, k, v = self.qkv(x).view(b, l, 3, HEADS, HIDDEN // HEADS).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS) + bias
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, l, HIDDEN)
        x = self.norm1(x + self.out(context))
        return self.norm2(x + self.ff2(torch.nn.functional.gelu(self.ff1(x))))


class TinyBert(nn.Module):
    def __init__(self):
        super().__init__()
        self.words = nn.Embedding(VOCAB, HIDDEN)
        self.positions = nn.Embedding(POSITIONS, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList([Layer() for _ in range(LAYERS)])
        self.head = nn.Linear(HIDDEN, LABELS)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[1]
        positions = torch.arange(length, device=input_ids.device).unsqueeze(0)
        x = self.norm(self.words(input_ids % VOCAB) + self.positions(positions))
        mask = attention_mask.to(x.dtype)
        bias = (1.0 - mask)[:, None, None, :] * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        pooled = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)
        return torch.sigmoid(self.head(pooled))


class WrongSignature(nn.Module):
    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return input_ids.float()[:, :3]


class WrongOutput(nn.Module):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return (input_ids * attention_mask).float().sum(1)


def random_inputs(generator, batch, length):
    ids = torch.randint(0, 30522, (batch, length), generator=generator)
    mask = torch.ones(batch, length, dtype=torch.int64)
    for row in range(1, batch):  # later rows are padded, as in a real batch
        real = max(1, length - row * max(1, length // (batch + 1)))
        mask[row, real:] = 0
        ids[row, real:] = 0
    ids[:, 0] = 101
    return ids, mask


def packed_state_dict(generator):
    """Random weights under train/bert_encoder.py's names, for train/fast_graph.py."""
    def rand(*shape, scale=0.2):
        return torch.randn(*shape, generator=generator) * scale
    sd = {"bert.embeddings.word_embeddings.weight": rand(30522, HIDDEN),
          "bert.embeddings.position_embeddings.weight": rand(POSITIONS, HIDDEN),
          "bert.embeddings.token_type_embeddings.weight": rand(2, HIDDEN),
          "bert.embeddings.LayerNorm.weight": 1 + rand(HIDDEN, scale=0.05),
          "bert.embeddings.LayerNorm.bias": rand(HIDDEN, scale=0.05),
          "classifier.weight": rand(LABELS, HIDDEN, scale=0.5), "classifier.bias": rand(LABELS, scale=0.1)}
    for i in range(LAYERS):
        p = f"bert.encoder.layer.{i}."
        for name, (rows, cols) in {"attention.self.query": (HIDDEN, HIDDEN), "attention.self.key": (HIDDEN, HIDDEN),
                                   "attention.self.value": (HIDDEN, HIDDEN), "attention.output.dense": (HIDDEN, HIDDEN),
                                   "intermediate.dense": (FFN, HIDDEN), "output.dense": (HIDDEN, FFN)}.items():
            sd[p + name + ".weight"] = rand(rows, cols)
            sd[p + name + ".bias"] = rand(rows, scale=0.05)
        for name in ["attention.output.LayerNorm", "output.LayerNorm"]:
            sd[p + name + ".weight"] = 1 + rand(HIDDEN, scale=0.05)
            sd[p + name + ".bias"] = rand(HIDDEN, scale=0.05)
    return sd


def write_packed_fixture(manifest):
    from train import fast_graph
    folder = os.path.join(OUT, "tiny-bert-packed")
    os.makedirs(folder, exist_ok=True)
    fast_graph.export_fast(packed_state_dict(torch.Generator().manual_seed(7)), os.path.join(folder, "model.pt"),
                           torch.float32, heads=HEADS)
    packed = dict(manifest, name="tiny-bert-packed", packed_entry_point="forward_packed",
                  description="Random-weight test fixture in the fast graph with a packed entry point, made by "
                              "scripts/generate/make_test_model.py; its scores mean nothing.")
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(packed, f, indent=2)
        f.write("\n")


def main():
    torch.manual_seed(1234)
    model = TinyBert().eval()
    os.makedirs(os.path.join(OUT, "tiny-bert"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "bad-models"), exist_ok=True)
    example = random_inputs(torch.Generator().manual_seed(1), 2, 7)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
        traced = torch.jit.freeze(traced)
    path = os.path.join(OUT, "tiny-bert", "model.pt")
    traced.save(path)
    reloaded = torch.jit.load(path)

    generator = torch.Generator().manual_seed(42)
    cases = []
    for batch, length in [(1, 8), (4, 16), (3, 5), (2, 128), (7, 1)]:
        ids, mask = random_inputs(generator, batch, length)
        with torch.no_grad():
            expected = model(ids, mask)
            got = reloaded(ids, mask)
        assert torch.allclose(expected, got, atol=1e-6), "traced model disagrees with eager at a new shape"
        cases.append({"batch": batch, "length": length, "input_ids": ids.flatten().tolist(),
                      "attention_mask": mask.flatten().tolist(), "output": got.flatten().tolist()})
    with open(os.path.join(OUT, "tiny-bert", "golden.json"), "w") as f:
        json.dump({"labels": LABELS, "torch": torch.__version__, "cases": cases}, f)

    manifest = {
        "schema_version": 1,
        "name": "tiny-bert",
        "version": "0.1.0",
        "model_file": "model.pt",
        "labels": ["toxic", "hate", "spam"],
        "activation": "sigmoid",
        "max_sequence_length": 128,
        "thresholds": {"toxic": 0.5, "hate": 0.5, "spam": 0.5},
        "tokenizer": {"path": "../../../tokenizer", "lowercase": True, "strip_accents": True},
        "text_normalization": "platform-v1",
        "precision": "fp32",
        "description": "Random-weight test fixture made by scripts/generate/make_test_model.py; its scores mean nothing.",
    }
    with open(os.path.join(OUT, "tiny-bert", "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")

    write_packed_fixture(manifest)
    torch.jit.script(WrongSignature()).save(os.path.join(OUT, "bad-models", "wrong_signature.pt"))
    torch.jit.script(WrongOutput()).save(os.path.join(OUT, "bad-models", "wrong_output.pt"))
    with open(os.path.join(OUT, "bad-models", "not_torchscript.pt"), "wb") as f:
        f.write(b"this is not a TorchScript archive\n" * 4)
    print("wrote", os.path.relpath(OUT, ROOT), "size of model.pt:", os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
