#!/usr/bin/env bash
# Per-text cost of platform-v1 vs platform-v2 normalisation, next to the tokenizer's encode, single thread.
# Compiles Sources/WordPiece with scripts/bench/bench_normalization.swift (swiftc -O, whole module) into
# .build/bench-normalization, so it needs no package build.
#
#   scripts/bench_normalization.sh [CORPUS...]      default: Benchmarks/corpus/chat.txt (one text a line)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build
swiftc -O -wmo -parse-as-library -swift-version 6 -module-name BenchNormalization Sources/WordPiece/*.swift \
  scripts/bench/bench_normalization.swift -o .build/bench-normalization
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
.build/bench-normalization tokenizer "${@:-Benchmarks/corpus/chat.txt}"
