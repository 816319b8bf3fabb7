#!/usr/bin/env bash
# Bounded abuse probes against a real warden serve on 127.0.0.1 (see scripts/e2e/abuse.py for what each does).
#   scripts/abuse.sh [--flood-seconds N] [--slow-connections N] [--soak-minutes N]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHONPATH=scripts exec python3 -m e2e.abuse "$@"
