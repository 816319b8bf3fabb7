#!/usr/bin/env bash
# The runtime figures of docs/PERFORMANCE.md in one run, on one machine:
#   1. HTTP at 64 connections on the chat corpus, result cache off, rounds interleaved:
#        warden packed (the defaults), warden padded (--packing off), warden unbatched (--max-batch-size 1),
#        warden fp32 (the defaults with --precision fp32, whatever auto chose), warden fixed rows (the defaults
#        with --packed-row-width fixed), and Flask + ONNX Runtime from the peer kit (2 workers x 1 thread), when
#        the kit is set up.
#   2. A lone short message on an idle server: p50/p99 at 1 connection.
#   3. The batching gain by message length (warden tune, in-process): batch 1 vs packed, per length bucket.
#   4. The machine's bf16 GEMM rate (the roofline) and the per-token cost against it.
#   5. warden tune at 64 callers on the chat corpus: layouts padded, packed64, packed128 x batch sizes.
#   6. The ceiling of the batching gain on this CPU (scripts/bench/gain_ceiling.py): unbatched forwards over the
#      corpus against the time of the Linear products alone, and against today's packed forward.
#   7. Short messages (4 and 12 words) over HTTP at 64 connections: packed with fitted row widths (the default),
#      fixed 128-token rows, and padded. Not in the default steps: -s 7.
#
# usage: scripts/bench_runtime.sh [-d SECONDS] [-w SECONDS] [-r ROUNDS] [-o OUTDIR] [-s "STEPS"]
#   -d  measured seconds per HTTP step (default 20)     -w  warm-up seconds per step (default 5)
#   -r  interleaved rounds of step 1 (default 2)         -o  output folder (default /tmp/warden-bench-runtime)
#   -s  steps to run (default "1 2 3 4 5 6")
# The machine block at the start names the CPU, the OpenBLAS core and the precision plan warden chooses there.
# Needs: .build/release/warden (swift build -c release --product warden), wrk, and for the Flask + ONNX peer
# the peer services kit, set up (its setup_common.sh). Run it on an otherwise idle machine: it measures.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DUR=20; WARM=5; ROUNDS=2; OUT=/tmp/warden-bench-runtime; STEPS="1 2 3 4 5 6"
while getopts "d:w:r:o:s:h" opt; do
  case $opt in
    d) DUR=$OPTARG;; w) WARM=$OPTARG;; r) ROUNDS=$OPTARG;; o) OUT=$OPTARG;; s) STEPS=$OPTARG;;
    *) sed -n '2,23p' "$0"; exit 2;;
  esac
done
BIN="$ROOT/.build/release/warden"
PEERS="${PEERS_KIT:-$ROOT/peers}"; [ -x "$PEERS/load.sh" ] || PEERS="$(dirname "$ROOT")/shared/peers"  # PEERS_KIT, else peers/, else beside the checkout
CORPUS="$ROOT/Benchmarks/corpus/chat.txt"
SYS_PY=$(PATH=$(getconf PATH) command -v python3)
[ -x "$BIN" ] || { echo "no $BIN: swift build -c release --product warden" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 2; }
mkdir -p "$OUT"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -x "$PEERS/stop_peer.sh" ] && "$PEERS/stop_peer.sh" flask-onnx >/dev/null 2>&1 || true
}
trap cleanup EXIT

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p')"
  echo "cores: $(nproc)"
  echo "cpu family/model: $(lscpu | sed -n 's/^CPU family:[[:space:]]*//p')/$(lscpu | sed -n 's/^Model:[[:space:]]*//p')"
  echo "bf16 flags: $(grep -o -w 'avx512_bf16\|amx_bf16\|amx_tile\|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  # The OpenBLAS core and the precision plan warden picks at start-up here (--precision auto), with its figures.
  echo "hello there" | "$BIN" score - -o /dev/null --log-level info 2>&1 \
    | sed -n -e 's/.*\(blas_core=.*\) threads=.*/runtime: \1/p' -e 's/.* \(measured=.*\) \[TorchBackend\] precision plan/plan: \1/p' \
      -e 's/.* \(model=.*\) \[WardenCore\] packing cost model/packing cost: \1/p' || true
  echo "warden: $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt"

free_port() { "$SYS_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
serve() { # name port flags...
  local name=$1 port=$2; shift 2
  "$BIN" serve --host 127.0.0.1 --port "$port" --log-level warning --cache-size 0 "$@" >"$OUT/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 240); do
    curl -sf -m 2 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "$name not ready" >&2; cat "$OUT/$name.log" >&2; exit 1
}
round_line() { # one load.sh result file -> "req/s, p50, p99, errors" and the load average
  echo "$("$SYS_PY" -c '
import json, sys
l = json.load(open(sys.argv[1]))["levels"][0]
print("%.1f ok req/s, p50 %.1f ms, p99 %.1f ms, errors %d" % (l["ok_rps"], l["latency_ms"]["p50"], l["latency_ms"]["p99"], l["errors"]["total"]))
' "$1")  load1 $(cut -d' ' -f1 /proc/loadavg)"
}
load() { # name url conns body out
  "$PEERS/load.sh" -u "$2" -n "$1" -c "$3" -d "$DUR" -w "$WARM" -p "" -f "$CORPUS" -b "$4" -o "$5" >"$5.txt" 2>&1 \
    || { echo "load on $1 failed:"; tail -5 "$5.txt"; }
}

if [[ " $STEPS " == *" 1 "* || " $STEPS " == *" 2 "* ]]; then
  declare -A URLS
  P1=$(free_port); serve packed "$P1"; URLS[warden-packed]="http://127.0.0.1:$P1/v1/moderations"
  P2=$(free_port); serve padded "$P2" --packing off; URLS[warden-padded]="http://127.0.0.1:$P2/v1/moderations"
  P3=$(free_port); serve unbatched "$P3" --max-batch-size 1; URLS[warden-unbatched]="http://127.0.0.1:$P3/v1/moderations"
  # The other precision plan, forced, so that every candidate plan has its HTTP figure beside the one auto chose.
  P4=$(free_port); serve fp32 "$P4" --precision fp32; URLS[warden-fp32]="http://127.0.0.1:$P4/v1/moderations"
  # Packed rows of the full --packed-row-tokens width, against the default (each batch's width fitted).
  P5=$(free_port); serve fixed "$P5" --packed-row-width fixed; URLS[warden-fixed-rows]="http://127.0.0.1:$P5/v1/moderations"
  NAMES=(warden-packed warden-padded warden-unbatched warden-fp32 warden-fixed-rows)
  if [ -x "$PEERS/start_flask_onnx.sh" ] && [ -f "${PEERS_ROOT:-/tmp/peers}/artifacts/minilm_cls.onnx" ]; then
    WORKERS=2 TORCH_THREADS=1 "$PEERS/start_flask_onnx.sh" >"$OUT/flask-onnx.start.log" 2>&1
    URLS[flask-onnx]="http://127.0.0.1:8004/v1/moderate"; NAMES+=(flask-onnx)
  else
    echo "peer kit not set up (run setup_common.sh in $PEERS, or set PEERS_KIT): Flask + ONNX Runtime skipped"
  fi
fi

if [[ " $STEPS " == *" 1 "* ]]; then
  echo "== step 1: 64 connections, chat corpus, cache off, ${ROUNDS} interleaved rounds of ${DUR}s"
  for round in $(seq 1 "$ROUNDS"); do
    for name in "${NAMES[@]}"; do
      load "$name" "${URLS[$name]}" 64 '{"input": {{text}}}' "$OUT/c64-$name-r$round.json"
      echo "round $round $name: $(round_line "$OUT/c64-$name-r$round.json")"
    done
  done
fi

if [[ " $STEPS " == *" 2 "* ]]; then
  echo "== step 2: a lone short message, 1 connection, idle server"
  load lone "${URLS[warden-packed]}" 1 '{"input": "see you at the game tonight"}' "$OUT/lone.json"
  tail -4 "$OUT/lone.json.txt"
fi

length_buckets() { # 1,000 messages of 4, 12, 24, 48 and 90 words from the corpus: OUT/lenN.txt
  "$SYS_PY" - "$CORPUS" "$OUT" <<'PY'
import random, sys
words = open(sys.argv[1], encoding="utf-8").read().split()
rng = random.Random(5)
for n in (4, 12, 24, 48, 90):
    with open(f"{sys.argv[2]}/len{n}.txt", "w", encoding="utf-8") as f:
        for _ in range(1000):
            start = rng.randrange(0, len(words) - n)
            f.write(" ".join(words[start:start + n]) + "\n")
PY
}

if [[ " $STEPS " == *" 3 "* ]]; then
  echo "== step 3: batching gain by message length (warden tune, 64 callers, in-process)"
  length_buckets
  for n in 4 12 24 48 90; do
    tokens=$("$BIN" tokenize --max-length 128 < "$OUT/len$n.txt" | awk '{t += NF} END {printf "%.1f", t / NR}')
    echo "bucket $n words: mean $tokens tokens per message"
    "$BIN" tune --batch-sizes 1,32 --delays 2 --threads 2x1x1 --layouts padded,packed128 --concurrency 64 --seconds 4 \
      --warmup 1 --rounds 1 --corpus "$OUT/len$n.txt" --p99-ms 1000 --csv "$OUT/tune-len$n.csv" | grep -E "^2x1x1|gain|vs padded" || true
  done
fi

if [[ " $STEPS " == *" 4 "* ]]; then
  echo "== step 4: bf16 and fp32 GEMM rates, one thread (the roofline)"
  OPENBLAS_NUM_THREADS=1 "$SYS_PY" - <<'PY' | tee "$OUT/roofline.txt"
import time, torch
torch.set_num_threads(1)
best = {}
for m, k, n in [(512, 384, 1152), (512, 384, 1536), (512, 1536, 384), (2048, 384, 1536)]:
    for dt in (torch.bfloat16, torch.float32):
        a, b = torch.randn(m, k).to(dt), torch.randn(k, n).to(dt)
        for _ in range(5): torch.matmul(a, b)
        runs = []
        for _ in range(20):
            t0 = time.perf_counter(); torch.matmul(a, b); runs.append(time.perf_counter() - t0)
        rate = 2 * m * k * n / sorted(runs)[len(runs) // 2] / 1e9
        best[dt] = max(best.get(dt, 0), rate)
        print(f"{str(dt):15s} [{m}x{k}] x [{k}x{n}]: {rate:7.1f} GFLOP/s")
flops = 6 * 2 * (4 * 384 * 384 + 2 * 384 * 1536)  # Q,K,V,O + FFN in, out, per token
print(f"model: {flops / 1e6:.1f} MFLOP per token in the Linear layers (+ attention, which grows with the row length)")
print(f"roofline (best bf16 rate, one core): {best[torch.bfloat16]:.1f} GFLOP/s = {flops / (best[torch.bfloat16] * 1e9) * 1e6:.1f} us per token")
PY
fi

if [[ " $STEPS " == *" 5 "* ]]; then
  echo "== step 5: warden tune, 64 callers, chat corpus: layouts x batch sizes"
  "$BIN" tune --batch-sizes 8,32,64 --delays 2 --threads 2x1x1 --layouts padded,packed64,packed128 --concurrency 64 \
    --seconds 5 --warmup 1 --rounds 1 --corpus "$CORPUS" --p99-ms 1000 --csv "$OUT/tune-layouts.csv" | tail -16
fi

if [[ " $STEPS " == *" 6 "* ]]; then
  echo "== step 6: the ceiling of the batching gain on this CPU (model only, one thread)"
  OPENBLAS_NUM_THREADS=1 PYTHONPATH="$ROOT/scripts" "$SYS_PY" -m bench.gain_ceiling --corpus "$CORPUS" --warden "$BIN" --json "$OUT/ceiling.json" | tee "$OUT/ceiling.txt"
fi

if [[ " $STEPS " == *" 7 "* ]]; then
  echo "== step 7: short messages over HTTP, 64 connections: packed with fitted row widths, fixed 128-token rows, padded"
  length_buckets
  declare -A SHORT
  P1=$(free_port); serve short-fitted "$P1"; SHORT[fitted]=$P1
  P2=$(free_port); serve short-fixed "$P2" --packed-row-width fixed; SHORT[fixed]=$P2
  P3=$(free_port); serve short-padded "$P3" --packing off; SHORT[padded]=$P3
  for n in 4 12; do
    for round in $(seq 1 "$ROUNDS"); do
      for name in fitted fixed padded; do
        "$PEERS/load.sh" -u "http://127.0.0.1:${SHORT[$name]}/v1/moderations" -n "$name" -c 64 -d "$DUR" -w "$WARM" -p "" \
          -f "$OUT/len$n.txt" -b '{"input": {{text}}}' -o "$OUT/short$n-$name-r$round.json" >"$OUT/short$n-$name-r$round.txt" 2>&1
        echo "len$n round $round $name: $(round_line "$OUT/short$n-$name-r$round.json")"
      done
    done
  done
fi

"$SYS_PY" - "$OUT" <<'PY'
import glob, json, os, statistics, sys
out = sys.argv[1]
def level(path):
    return json.load(open(path))["levels"][0]
rows = {}
for path in sorted(glob.glob(f"{out}/c64-*-r*.json")):
    name = os.path.basename(path)[4:].rsplit("-r", 1)[0]
    rows.setdefault(name, []).append(level(path))
if rows:
    print("\n== summary: 64 connections (median over rounds)")
    rps = {}
    for name, levels in rows.items():
        rps[name] = statistics.median(l["ok_rps"] for l in levels)
        p99 = statistics.median(l["latency_ms"]["p99"] for l in levels)
        errors = sum(l["errors"]["total"] for l in levels)
        print(f"{name:18s} {rps[name]:8.1f} req/s  p99 {p99:7.1f} ms  errors {errors}")
    if rps.get("warden-unbatched"):
        print(f"batching gain, packed / unbatched: {rps['warden-packed'] / rps['warden-unbatched']:.2f}x")
        print(f"padded / unbatched: {rps['warden-padded'] / rps['warden-unbatched']:.2f}x; packed / padded: {rps['warden-packed'] / rps['warden-padded']:.2f}x")
    if rps.get("warden-fixed-rows"):
        print(f"packed, fitted row width / fixed rows: {rps['warden-packed'] / rps['warden-fixed-rows']:.2f}x")
    if rps.get("warden-fp32"):
        print(f"fp32 plan / packed as chosen: {rps['warden-fp32'] / rps['warden-packed']:.2f}x")
    if rps.get("flask-onnx"):
        print(f"warden packed / flask-onnx: {rps['warden-packed'] / rps['flask-onnx']:.2f}x")
for n in (4, 12):
    short = {}
    for path in sorted(glob.glob(f"{out}/short{n}-*-r*.json")):
        short.setdefault(os.path.basename(path).split("-")[1], []).append(level(path)["ok_rps"])
    if short:
        med = {k: statistics.median(v) for k, v in short.items()}
        print(f"{n}-word messages: " + ", ".join(f"{k} {v:.1f} req/s" for k, v in med.items())
              + (f"; fitted / fixed {med['fitted'] / med['fixed']:.2f}x, fitted / padded {med['fitted'] / med['padded']:.2f}x"
                 if {"fitted", "fixed", "padded"} <= med.keys() else ""))
if os.path.exists(f"{out}/lone.json"):
    l = level(f"{out}/lone.json")
    print(f"lone short message: p50 {l['latency_ms']['p50']:.1f} ms, p99 {l['latency_ms']['p99']:.1f} ms ({l['ok_rps']:.1f} req/s at 1 connection)")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); raw files in $OUT"
