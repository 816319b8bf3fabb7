#!/usr/bin/env bash
# Runs Tests/NATSPy with nats-py (pinned below), an independent NATS client, against the built `warden worker`
# and a real `nats-server -js` (Debian's package, installed by scripts/setup.sh). nats-py and pytest go into
# .venv-nats (git-ignored), made with Debian's Python; PyPI must be reachable the first time.
#
#   scripts/test_nats_py.sh            after `swift build` (uses .build/debug/warden)
#   WARDEN_BINARY=path scripts/test_nats_py.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pytest_suite.sh
run_pytest_suite nats-py .venv-nats nats-py 2.9.0 nats Tests/NATSPy
