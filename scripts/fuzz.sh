#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (one per hand-written parser) into .build-fuzz/ and runs each for
# FUZZ_SECONDS seconds on a copy of its committed corpus, so a run never changes the corpus.
#
#   scripts/fuzz.sh [TARGET...]        default: every target (JSONScanner RecordReader NATSProtocol AMQPFrame
#                                       WordPiece Normalization)
#   FUZZ_SECONDS=600 scripts/fuzz.sh   seconds per target (default 60)
#   FUZZ_BUILD_ONLY=1                  build, run nothing
#   FUZZ_UPDATE_CORPUS=1               after a clean run, merge what the run found into Fuzz/<TARGET>/corpus
#                                       (libFuzzer's -merge=1 keeps only inputs that add coverage)
#   FUZZ_NICE=19                       niceness of the fuzzing processes (default 19)
#
# Prints per target the executed inputs (libFuzzer's stat::number_of_executed_units), the time, the corpus
# size at the end and whether a crash was found; exits 1 when a target crashed (a failed property, a trap, a
# sanitizer report, a hang over 10 s or memory over 2 GiB), naming the saved input under .build-fuzz/crashes/.
# Reproduce one with: SWIFT_BACKTRACE=enable=no .build-fuzz/<TARGET> -detect_leaks=0 <input>
#
# libFuzzer and the sanitizers ship with the Swift toolchain. The swiftc targets compile their sources
# directly (seconds); NATSProtocol and AMQPFrame need NIOCore and build with SwiftPM (WARDEN_FUZZ=1) in the
# ordinary .build, seconds after `swift build`.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(JSONScanner RecordReader NATSProtocol AMQPFrame WordPiece Normalization)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
for t in "${targets[@]}"; do
  [[ " ${ALL[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t (known: ${ALL[*]})" >&2; exit 2; }
done
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
NICE=${FUZZ_NICE:-19}
OUT=.build-fuzz
mkdir -p "$OUT/obj" "$OUT/crashes"

# -O for speed; -assert-config Debug keeps the standard library's debug checks (bounds of unsafe buffer
# pointers) that plain -O removes.
SWIFTC_FLAGS=(-sanitize=fuzzer,address -parse-as-library -O -assert-config Debug -g)
LINK_FLAGS=(-use-ld=lld)

# True when $1 is missing or older than a file under the other arguments.
stale() {
  local out=$1; shift
  [ -e "$out" ] || return 0
  [ -n "$(find "$@" -newer "$out" -type f -print -quit)" ]
}

build() {
  local t=$1
  case $t in
    JSONScanner)
      stale "$OUT/$t" Sources/WardenGateway/JSONScanner.swift Fuzz/$t/main.swift && \
        swiftc "${SWIFTC_FLAGS[@]}" "${LINK_FLAGS[@]}" -module-name JSONScannerFuzz \
          Sources/WardenGateway/JSONScanner.swift Fuzz/$t/main.swift -o "$OUT/$t"
      ;;
    WordPiece | Normalization)
      stale "$OUT/$t" Sources/WordPiece Fuzz/$t/main.swift && \
        swiftc "${SWIFTC_FLAGS[@]}" "${LINK_FLAGS[@]}" -module-name "${t}Fuzz" \
          Sources/WordPiece/*.swift Fuzz/$t/main.swift -o "$OUT/$t"
      ;;
    RecordReader)
      # The reader's files form the module WardenScore, over WordPiece and a WardenGateway of JSONScanner
      # alone (all RecordReader imports from them).
      local score=(RecordReader ByteSource GzipInflater InputRecord RecordError InputFormat ReaderSettings CarriedField ScoreIOError)
      local files=()
      for f in "${score[@]}"; do files+=("Sources/WardenScore/$f.swift"); done
      if stale "$OUT/obj/WordPiece.o" Sources/WordPiece; then
        swiftc "${SWIFTC_FLAGS[@]}" -c -wmo -module-name WordPiece -emit-module \
          -emit-module-path "$OUT/obj/WordPiece.swiftmodule" Sources/WordPiece/*.swift -o "$OUT/obj/WordPiece.o"
      fi
      if stale "$OUT/obj/WardenGateway.o" Sources/WardenGateway/JSONScanner.swift; then
        swiftc "${SWIFTC_FLAGS[@]}" -c -wmo -module-name WardenGateway -emit-module \
          -emit-module-path "$OUT/obj/WardenGateway.swiftmodule" Sources/WardenGateway/JSONScanner.swift -o "$OUT/obj/WardenGateway.o"
      fi
      stale "$OUT/$t" "${files[@]}" Fuzz/$t/main.swift "$OUT/obj/WordPiece.o" "$OUT/obj/WardenGateway.o" && \
        swiftc "${SWIFTC_FLAGS[@]}" "${LINK_FLAGS[@]}" -module-name WardenScore -I "$OUT/obj" -I Sources/CZlib \
          "${files[@]}" Fuzz/$t/main.swift "$OUT/obj/WordPiece.o" "$OUT/obj/WardenGateway.o" -o "$OUT/$t"
      ;;
    NATSProtocol | AMQPFrame)
      # SwiftPM, for NIOCore: the target's own flags instrument the parser's files alone, so the ordinary
      # debug build (.build) is reused and only the fuzz target compiles.
      if ! WARDEN_FUZZ=1 swift build --product "${t}Fuzz" >"$OUT/$t.build.log" 2>&1; then
        tail -30 "$OUT/$t.build.log" >&2
        echo "fuzz.sh: building ${t}Fuzz failed (log: $OUT/$t.build.log)" >&2
        exit 1
      fi
      cp ".build/debug/${t}Fuzz" "$OUT/$t"
      ;;
  esac
  return 0
}

for t in "${targets[@]}"; do
  start=$(date +%s)
  build "$t"
  echo "fuzz.sh: built $t ($(( $(date +%s) - start )) s)" >&2
done
[ -z "${FUZZ_BUILD_ONLY:-}" ] || exit 0

if [ -d /dev/shm ] && [ -w /dev/shm ]; then tmp_parent=/dev/shm; else tmp_parent=${TMPDIR:-/tmp}; fi
work=$(mktemp -d "$tmp_parent/warden-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

rows=()
failed=0
for t in "${targets[@]}"; do
  corpus="$work/$t-corpus"
  crashes="$OUT/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  cp Fuzz/$t/corpus/* "$corpus/"
  dict=()
  for d in Fuzz/$t/*.dict; do [ -e "$d" ] && dict=(-dict="$d"); done
  log="$OUT/$t.log"
  before=$(find "$crashes" -type f | wc -l)
  marker="$work/$t.start"
  touch "$marker"
  echo "fuzz.sh: running $t for ${SECONDS_PER_TARGET} s (log: $log)" >&2
  start=$(date +%s)
  status=0
  # SWIFT_BACKTRACE off: the Swift runtime's crash handler gets in the way of ASan's report.
  SWIFT_BACKTRACE=enable=no TMPDIR="$work" nice -n "$NICE" "$OUT/$t" "$corpus" "${dict[@]}" \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -detect_leaks=0 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$crashes/" >"$log" 2>&1 || status=$?
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  files=$(find "$corpus" -type f | wc -l)
  kib=$(( $(find "$corpus" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }') / 1024 ))
  new=$(find "$crashes" -type f -newer "$marker")
  if [ $status -ne 0 ] || [ "$(find "$crashes" -type f | wc -l)" -gt "$before" ]; then
    failed=1
    result="CRASH (exit $status)"
    echo "fuzz.sh: $t crashed; the end of $log:" >&2
    grep -v '^ *#[0-9]\|^$\|NEW_FUNC' "$log" | tail -25 >&2
    for f in $new; do echo "fuzz.sh: crash input: $f" >&2; done
  else
    result="no crash"
    if [ -n "${FUZZ_UPDATE_CORPUS:-}" ]; then
      SWIFT_BACKTRACE=enable=no TMPDIR="$work" nice -n "$NICE" "$OUT/$t" -merge=1 -detect_leaks=0 \
        "Fuzz/$t/corpus" "$corpus" >>"$log" 2>&1
      echo "fuzz.sh: merged into Fuzz/$t/corpus ($(find "Fuzz/$t/corpus" -type f | wc -l) files)" >&2
    fi
  fi
  rows+=("$(printf '%-14s %12s %7s %14s  %s' "$t" "${runs:-?}" "${elapsed}s" "$files ($kib KiB)" "$result")")
done

printf '%-14s %12s %7s %14s  %s\n' target runs time corpus result
for r in "${rows[@]}"; do echo "$r"; done
exit $failed
