"""Benchmarks' Python and helper files: the batching-gain ceiling (gain_ceiling), the Hugging Face side of
scripts/bench_tokenizer.sh (bench_tokenizer_hf), wrk's request script (bench_http.lua) and the normalisation
timer compiled by scripts/bench_normalization.sh (bench_normalization.swift). They measure; run them on an
otherwise idle machine, through the scripts/bench_*.sh entry points.
"""
