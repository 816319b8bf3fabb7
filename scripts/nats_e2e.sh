#!/usr/bin/env bash
# End-to-end check of `warden worker` on a real nats-server -js, run by hand (make test runs a smaller,
# faster version of the same checks in Tests/WardenStreamTests and Tests/NATSPy):
#
#   scripts/nats_e2e.sh            10,000 chat messages (Benchmarks/corpus/chat.txt, repeated), 3 workers on one
#                                  durable consumer, kill -9 one mid-run; checks exactly one verdict per source
#                                  sequence, the killed worker's messages redelivered and answered, nothing unacked;
#                                  then a SIGTERM'd worker exits 0 leaving nothing it fetched unacked. About 1-2 min
#                                  with a release build on 2 cores; every wait is bounded (--timeout, 300 s).
#   scripts/nats_e2e.sh bench      throughput: one worker against `warden score` on the same 10,000 messages
#                                  (cache off for both), then 1, 2 and 3 workers; prints the CPU and its flags.
#
# Uses $WARDEN_BINARY, else .build/release/warden (make release), else .build/debug/warden, the default model unless --model,
# nats-server from scripts/setup.sh and nats-py from .venv-nats (scripts/test_nats_py.sh installs it).
# Exit status 0 when every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-e2e}"
[ $# -gt 0 ] && shift
[ -x .venv-nats/bin/python ] || { echo "nats_e2e: run scripts/test_nats_py.sh once to make .venv-nats" >&2; exit 1; }
PYTHONPATH=scripts exec timeout 900 .venv-nats/bin/python -m e2e.nats_e2e "$mode" "$@"
