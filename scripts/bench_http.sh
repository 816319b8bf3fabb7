#!/usr/bin/env bash
# HTTP load benchmark for Warden (or any server taking {"input": "text"}), with wrk + scripts/bench/bench_http.lua.
#
# usage:
#   scripts/bench_http.sh [-u URL] [-c "1 4 16 64"] [-d SECONDS] [-w SECONDS] [-f CORPUS]
#       drive a running server (default http://127.0.0.1:8080/v1/moderations)
#   scripts/bench_http.sh --compare [-c ...] [-d ...] [-w ...] [-f ...] [-- SERVE_FLAGS...]
#       start `warden serve SERVE_FLAGS` twice on free loopback ports: as configured ("batched") and with
#       --max-batch-size 1 ("unbatched"); run both at each connection count, interleaved, in this one run;
#       print the table and the batching gain (requests/s batched / unbatched) at the highest count.
# Options:
#   -c LEVELS   connection counts (default "1 4 16 64")
#   -d SECONDS  measured seconds per step (default 10)
#   -w SECONDS  warm-up seconds per step, discarded (default 3)
#   -f CORPUS   messages, one per line (default Benchmarks/corpus/chat.txt)
#   -b BINARY   warden binary for --compare (default .build/release/warden)
#   -p CPU      pin wrk to this CPU with taskset ("" = no pinning; default "")
# Serve flags default to "--cache-size 0" so repeated corpus messages are computed, not cached
# (pass your own after "--"; add --cache-size 0 yourself for comparable figures).
# Loopback only; every wrk step is bounded by `timeout`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
URL="http://127.0.0.1:8080/v1/moderations"; LEVELS="1 4 16 64"; DUR=10; WARM=3
CORPUS="$ROOT/Benchmarks/corpus/chat.txt"; BIN="$ROOT/.build/release/warden"; COMPARE=0; CPU=""
SERVE_FLAGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --compare) COMPARE=1;;
    -u) URL=$2; shift;; -c) LEVELS=$2; shift;; -d) DUR=$2; shift;; -w) WARM=$2; shift;;
    -f) CORPUS=$2; shift;; -b) BIN=$2; shift;; -p) CPU=$2; shift;;
    --) shift; SERVE_FLAGS=("$@"); break;;
    -h|--help) sed -n '2,22p' "$0"; exit 0;;
    *) echo "unknown argument: $1" >&2; sed -n '2,22p' "$0"; exit 2;;
  esac
  shift
done
[ ${#SERVE_FLAGS[@]} -gt 0 ] || SERVE_FLAGS=(--cache-size 0)
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 2; }
[ -s "$CORPUS" ] || { echo "no corpus at $CORPUS (python3 scripts/make_chat_corpus.py --n 2000 --out $CORPUS)" >&2; exit 2; }
PIN=(); [ -n "$CPU" ] && PIN=(taskset -c "$CPU")
TMP=$(mktemp -d); PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
export BENCH_CORPUS="$CORPUS"

loopback() { case "$1" in http://127.*|http://localhost*|http://\[::1\]*) ;; *) echo "refusing non-loopback URL: $1" >&2; exit 2;; esac; }

# step NAME URL CONNS -> prints one table row, appends to $TMP/rows
step() {
  local name=$1 url=$2 c=$3 out="$TMP/$1-c$3.json"
  if [ "$WARM" != "0" ]; then
    BENCH_OUT="" timeout $((WARM + 20)) "${PIN[@]}" wrk -t1 -c"$c" -d"${WARM}s" --timeout 10s -s "$ROOT/scripts/bench/bench_http.lua" "$url" >/dev/null 2>&1 || true
  fi
  BENCH_OUT="$out" timeout $((DUR + 20)) "${PIN[@]}" wrk -t1 -c"$c" -d"${DUR}s" --timeout 10s -s "$ROOT/scripts/bench/bench_http.lua" "$url" >"$TMP/wrk.txt" 2>&1 || true
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  if [ -s "$out" ]; then
    python3 - "$out" "$name" "$c" "$load" <<'PY' | tee -a "$TMP/rows"
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]:12s} {int(sys.argv[3]):5d} {d['rps']:9.1f} {d['p50_ms']:8.1f} {d['p90_ms']:8.1f} {d['p99_ms']:8.1f} {d['errors']:7d} {sys.argv[4]:>6s}")
PY
  else
    echo "$name $c wrk failed: $(tail -3 "$TMP/wrk.txt")"
  fi
}

header() { printf '%-12s %5s %9s %8s %8s %8s %7s %6s\n' server conns "req/s" "p50 ms" "p90 ms" "p99 ms" errors load1; }

smoke() {
  local code; code=$(curl -s -m 30 -o "$TMP/smoke" -w '%{http_code}' -H 'Content-Type: application/json' -d '{"input": "hello there"}' "$1" || true)
  [ "${code:0:1}" = "2" ] || { echo "smoke request to $1 failed: HTTP $code $(head -c 200 "$TMP/smoke")" >&2; exit 1; }
}

if [ $COMPARE = 0 ]; then
  loopback "$URL"; smoke "$URL"
  echo "# $URL  ${DUR}s per step after ${WARM}s warm-up, corpus $CORPUS"
  header
  for c in $LEVELS; do step server "$URL" "$c"; done
  exit 0
fi

[ -x "$BIN" ] || { echo "no warden binary at $BIN (swift build -c release --product warden)" >&2; exit 2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # name port flags...
  local name=$1 port=$2; shift 2
  "$BIN" serve --host 127.0.0.1 --port "$port" --log-level warning "$@" >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 240); do
    curl -sf -m 2 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "$name exited:"; cat "$TMP/$name.log"; exit 1; }
    sleep 0.5
  done
  echo "$name not ready after 120 s"; cat "$TMP/$name.log"; exit 1
}
PA=$(free_port); PB=$(free_port)
echo "# batched:   warden serve ${SERVE_FLAGS[*]}   (port $PA)"
echo "# unbatched: warden serve ${SERVE_FLAGS[*]} --max-batch-size 1   (port $PB)"
# Load one model at a time so the two start-ups do not compete.
start batched "$PA" "${SERVE_FLAGS[@]}"
start unbatched "$PB" "${SERVE_FLAGS[@]}" --max-batch-size 1
A="http://127.0.0.1:$PA/v1/moderations"; B="http://127.0.0.1:$PB/v1/moderations"
smoke "$A"; smoke "$B"
echo "# ${DUR}s per step after ${WARM}s warm-up, corpus $CORPUS, both servers idle-loaded on the same cores"
header
for c in $LEVELS; do step batched "$A" "$c"; step unbatched "$B" "$c"; done
python3 - "$TMP/rows" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
top = max(int(r[1]) for r in rows)
a = [float(r[2]) for r in rows if r[0] == "batched" and int(r[1]) == top]
b = [float(r[2]) for r in rows if r[0] == "unbatched" and int(r[1]) == top]
if a and b and b[0] > 0:
    print(f"batching gain at {top} connections: {a[0]:.1f} / {b[0]:.1f} req/s = {a[0] / b[0]:.2f}x")
PY
