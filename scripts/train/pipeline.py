"""Trains, evaluates, exports and ships Warden's default moderation model (models/minilm-moderation).

Pipeline (one command, CPU only, < 1 hour on a 2-core machine):
  1. encoder parity: plain-PyTorch BERT (bert_encoder.py) vs transformers.BertModel (fit.py);
  2. data: moderation_data.py (15 sources, explicit label policy, loss masks, hierarchy ORed, platform
     normalisation, dedupe before splitting) + synth_data.py (counter-speech, negation, reclaimed use,
     profanity, identity mentions built from the data's own rows; crisis statements and their contrasts,
     threats and calm hostility from templates), tokenized and split (splits.py);
  3. fine-tune all candidate labels (fit.py): masked multi-label BCE, per-source quotas per epoch, obfuscation
     augmentation (warden_tools/obfuscation.py) on a fraction of rows, bf16 autocast where the CPU has
     AVX-512 BF16 / AMX, a hard wall-clock cap on the training loop (--max-train-minutes) with the LR
     schedule fitted to the steps that fit;
  4. a temperature per label fitted on pooled validation rows; the ship bar per label on the test split
     (spec.toml); thresholds on the validation split (post_train.py);
  5. export TorchScript variants (fp32, bf16 graph, fast graph: export.py, fast_graph.py) with only the shipped
     labels, evaluate the previous models and this one on the same splits, the functional set and the self-harm
     contrast set, read the cross-source evaluation (crosssource.py, run first), time the previous model vs this;
  6. ship model.pt, the golden file for the Swift test and results.json, from which card.py renders
     manifest.json and MODEL_CARD.md.
The steps hand each other their results as values; the second half's results go to OUT/results.json.

Run from the repository root with the training venv (see MODEL_CARD.md, "Rebuild"):
  PYTHONPATH=scripts HF_HUB_OFFLINE=1 .venv-train/bin/python -m train.crosssource   # the cross-source folds
  PYTHONPATH=scripts HF_HUB_OFFLINE=1 .venv-train/bin/python -m train
Re-export / re-evaluate from the saved checkpoint without training:
  PYTHONPATH=scripts HF_HUB_OFFLINE=1 .venv-train/bin/python -m train --skip-train --checkpoint WORK_DIR/checkpoint.pt
Cheap ablation runs (short training per arm, validation + functional set):
  PYTHONPATH=scripts HF_HUB_OFFLINE=1 .venv-train/bin/python -m train --ablate baseline,meaning --ablation-steps 300
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402 (after the offline switches)
import torch  # noqa: E402

from train import card, post_train  # noqa: E402
from train.bert_encoder import ModerationModel, load_bert  # noqa: E402
from train.common import START, cpu_bf16, log, machine_line  # noqa: E402
from train.export import bench_main  # noqa: E402
from train.fit import ARMS, QUOTAS, ablate, encoder_parity, train  # noqa: E402
from train.spec import CANDIDATES, WEAK  # noqa: E402
from train.splits import load_data  # noqa: E402
from warden_tools.functional_io import DEFAULT_CASES  # noqa: E402
from warden_tools.paths import DEFAULT_MODEL, FIXTURES, PEERS_MESSAGES, add_data_argument  # noqa: E402

DEFAULT_SELFHARM = os.path.join(FIXTURES, "selfharm", "cases.jsonl")
from warden_tools.tokenizer_reference import base_model_dir  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_MODEL)
    ap.add_argument("--golden", default=os.path.join(FIXTURES, "default_model_golden.json"))
    ap.add_argument("--work-dir", default="/tmp/warden-train", help="checkpoint and all exported variants")
    ap.add_argument("--checkpoint", default=None, help="fp32 state_dict path (default WORK_DIR/checkpoint.pt)")
    ap.add_argument("--previous-models", default="v1=/tmp/warden-v3/v1,v2=/tmp/warden-v3/v2", metavar="NAME=DIR,...",
                    help="earlier bundles (folders with model.pt and manifest.json) compared on the same rows; copy "
                         "them out of the repository's history before the run overwrites the default model")
    ap.add_argument("--functional", default=DEFAULT_CASES)
    ap.add_argument("--selfharm", default=DEFAULT_SELFHARM, help="the self-harm contrast set (JSON Lines)")
    ap.add_argument("--precision", choices=["auto", "fp32", "bf16", "fast"], default="auto")
    ap.add_argument("--skip-train", action="store_true", help="reuse the checkpoint")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--max-train-minutes", type=float, default=35.0, help="hard cap on the training loop")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--train-max-len", type=int, default=128)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--freeze-layers", type=int, default=1)
    ap.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                    help="bf16 autocast in training (default: on where the CPU has AVX-512 BF16 or AMX)")
    ap.add_argument("--obfuscate-frac", type=float, default=None, help="fraction of rows obfuscated (default 0.2)")
    ap.add_argument("--val-select", type=int, default=3000, help="validation rows used for per-epoch selection")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ablate", default=None, help="comma-separated arms (baseline, meaning, full): short runs only")
    ap.add_argument("--ablation-steps", type=int, default=300)
    ap.add_argument("--ablation-minutes", type=float, default=4.0)
    ap.add_argument("--card-only", action="store_true",
                    help="re-read WORK_DIR/ablation.json into OUT/results.json (after more ablation arms), then "
                         "rewrite manifest.json and MODEL_CARD.md from it")
    ap.add_argument("--refresh", action="store_true",
                    help="re-read the cross-source results and re-score the functional and self-harm sets with the "
                         "shipped model (no training, no data), then rewrite results.json, manifest.json and the card")
    ap.add_argument("--more-work-dirs", nargs="*", metavar="DIR",
                    help="with --refresh: further work directories whose cross-source folds are merged in")
    ap.add_argument("--with-test-split", action="store_true",
                    help="with --refresh: also score the test split again (loads the data) and recompute the "
                         "in-distribution tables at the shipped thresholds")
    ap.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--bench", help=argparse.SUPPRESS)
    ap.add_argument("--bench-norms", default="platform-v1", help=argparse.SUPPRESS)
    ap.add_argument("--bench-threads", type=int, default=2)
    ap.add_argument("--bench-calls", type=int, default=120)
    ap.add_argument("--bench-corpus", default=PEERS_MESSAGES, metavar="FILE")
    add_data_argument(ap)
    args = ap.parse_args(argv)
    if args.bench:
        return bench_main(args)
    if args.refresh:
        card.write(post_train.refresh(args), args.out)
        log("results, manifest and card refreshed")
        return None
    if args.card_only:
        card.write(post_train.card_only(args), args.out)
        log("manifest and card rewritten")
        return None
    if args.bf16 is None:
        args.bf16 = cpu_bf16()
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    random.seed(args.seed); np.random.seed(args.seed); torch.manual_seed(args.seed)
    split, data_stats = load_data(args)
    if args.smoke:
        split = {k: v[::10] if k != "train" else v for k, v in split.items()}
        args.bench_calls = 10
        args.max_train_minutes = min(args.max_train_minutes, 1.0)
    log("data", json.dumps(data_stats)[:2000])
    if args.ablate:
        ablate(args, split)
        log("ablation done")
        return
    if not os.path.isfile(args.bench_corpus):
        sys.exit(f"error: chat corpus {args.bench_corpus} not found; pass --bench-corpus FILE (one message per line)")
    os.makedirs(args.out, exist_ok=True)
    ckpt = args.checkpoint or os.path.join(args.work_dir, "checkpoint.pt")
    meta_path = os.path.join(os.path.dirname(ckpt), "train_meta.json")
    model = ModerationModel(load_bert(base_model_dir()), len(CANDIDATES))
    if args.skip_train:
        model.load_state_dict(torch.load(ckpt))
        meta = json.load(open(meta_path))
        log("loaded checkpoint", ckpt)
    else:
        rng = random.Random(args.seed)
        parity = encoder_parity([e["norm"] for e in rng.sample(split["val"], min(300, len(split["val"])))])
        log("encoder parity", parity)
        assert parity["max_abs_delta_hidden_states"] <= 1e-4, parity
        t0 = time.time()
        history, best_epoch, info = train(model, split["train"], split["val"], args, arm="full")
        meta = dict(parity=parity, history=history, best_epoch=best_epoch, train_info=info,
                    train_seconds=round(time.time() - t0, 1), machine=machine_line(args.threads),
                    loadavg_after_training=os.getloadavg(), hyperparameters=dict(
                        max_epochs=args.epochs, max_train_minutes=args.max_train_minutes, batch_size=args.batch_size,
                        lr=args.lr, head_lr=args.head_lr, train_max_len=args.train_max_len, quotas=QUOTAS,
                        frozen_bottom_layers=args.freeze_layers, freeze_word_embeddings=args.freeze_embeddings,
                        weak_label_weight=WEAK, bf16_autocast=args.bf16,
                        obfuscation_fraction=(args.obfuscate_frac if args.obfuscate_frac is not None
                                              else ARMS["full"]["obfuscate"]),
                        obfuscation_available=True,
                        optimizer="AdamW wd 0.01, 6% warmup, linear decay fitted to the wall-clock cap, grad clip 1.0",
                        seed=args.seed, threads=args.threads))
        os.makedirs(os.path.dirname(ckpt), exist_ok=True)
        torch.save(model.state_dict(), ckpt)
        json.dump(meta, open(meta_path, "w"), indent=1)
        log("saved checkpoint", ckpt)
    model.eval()
    card.write(post_train.finish(args, model, split, data_stats, meta), args.out)
    log(f"done in {(time.time() - START) / 60:.1f} min")
