"""What both halves of the training pipeline use: one log clock, the base model's tokenizer, padding, batched
prediction, and the raw text of a row."""
from __future__ import annotations

import os
import platform
import time

import numpy as np
import torch

from train import moderation_data as md
from train.golden_fp32 import cpu_description
from warden_tools.tokenizer_reference import tokenizer_json_path

START = time.time()  # the pipeline's clock: every log line says how long the run has taken so far


def log(*a):
    print(f"[{time.time() - START:7.1f}s]", *a, flush=True)


def make_tokenizer(max_len: int):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(tokenizer_json_path())
    tok.no_padding()
    tok.enable_truncation(max_len)
    return tok


def cpu_bf16() -> bool:
    flags = cpu_description()["bf16_flags"]
    return any(f.startswith("amx") or f == "avx512_bf16" for f in flags)


def machine_line(threads):
    return (f"{cpu_description()['model_name']} ({platform.machine()}, {os.cpu_count()} cores, "
            f"bf16 flags {','.join(f for f in cpu_description()['bf16_flags'] if 'bf16' in f or 'amx' in f) or 'none'}), "
            f"torch {torch.__version__}, {threads} threads")


def pad_batch(seqs, multiple=1):
    """Pads to the longest sequence, rounded up to `multiple` (fewer distinct shapes: oneDNN's bf16 kernels
    are built once per shape)."""
    L = max(len(s) for s in seqs)
    L = -(-L // multiple) * multiple
    ids = torch.zeros(len(seqs), L, dtype=torch.long)
    am = torch.zeros(len(seqs), L, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        am[i, :len(s)] = 1
    return ids, am


def predict(fn, seqs, batch_size=64, autocast=False):
    """Probabilities [N,k] for token-id lists, length-sorted batches (order restored)."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = None
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            ids, am = pad_batch([seqs[i] for i in idx], 8)
            p = fn(ids, am).float().numpy()
            if out is None:
                out = np.zeros((len(seqs), p.shape[1]), dtype=np.float64)
            out[idx] = p
    return out


def encode_texts(texts, norm_fn, max_len):
    tok = make_tokenizer(max_len)
    return [enc.ids for enc in tok.encode_batch([norm_fn(t) for t in texts])]


def raw_text(e):
    """The text Warden would receive for a row (EDOS markers as the handles/links they replaced)."""
    return md.unmark_edos(e["text"]) if e["source"] == "edos" else e["text"]
