#!/usr/bin/env bash
# Prints a short key for this machine's CPU kind, e.g. `amd-epyc-avx512bf16` or `intel-xeon-platinum-8480c-amx`:
# lscpu's model name, plus which bf16 kernels oneDNN can use (AMX, AVX-512 BF16 or neither). Benchmark
# thresholds are stored per key (Benchmarks/thresholds/<key>/), because timings from one CPU kind say nothing
# about another: on machines of the same size they differ by 2x or more.
set -euo pipefail
model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
flags=$(lscpu | sed -n 's/^Flags:[[:space:]]*//p')
name=$(printf '%s' "${model:-unknown}" | tr '[:upper:]' '[:lower:]' | sed -e 's/([^)]*)//g' -e 's/ cpu//g' -e 's/@.*//' \
  -e 's/[^a-z0-9]\{1,\}/-/g' -e 's/^-//' -e 's/-$//')
if grep -qw amx_bf16 <<<"$flags"; then bf16=amx
elif grep -qw avx512_bf16 <<<"$flags"; then bf16=avx512bf16
else bf16=nobf16
fi
echo "$name-$bf16"
