"""Evaluations: the functional set through `warden score` (eval_functional), what platform-v2 does compared
with platform-v1 (measure_normalization), and tokenizer parity with Hugging Face `tokenizers` on whole datasets
(tokenizer_parity). Run from the repository root:

    PYTHONPATH=scripts /usr/bin/python3 -m eval.eval_functional --model models/minilm-moderation
"""
