#!/usr/bin/env bash
# Runs Tests/NATSPy with nats-py (pinned below), an independent NATS client, against the built `warden worker`
# and a real `nats-server -js` (Debian's package, installed by scripts/setup.sh). nats-py and pytest go into
# .venv-nats (git-ignored), made with Debian's Python; PyPI must be reachable the first time.
#
#   scripts/test_nats_py.sh            after `swift build` (uses .build/debug/warden)
#   WARDEN_BINARY=path scripts/test_nats_py.sh
set -euo pipefail
cd "$(dirname "$0")/.."

NATS_PY_VERSION=2.9.0
PYTEST_VERSION=8.3.4
VENV=.venv-nats

if ! "$VENV/bin/python" -c "import nats, pytest, sys; from importlib.metadata import version; sys.exit(version('nats-py') != '$NATS_PY_VERSION')" 2>/dev/null; then
  echo "nats-py: installing nats-py==$NATS_PY_VERSION and pytest==$PYTEST_VERSION into $VENV" >&2
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "nats-py==$NATS_PY_VERSION" "pytest==$PYTEST_VERSION"
fi

export WARDEN_BINARY="${WARDEN_BINARY:-$PWD/.build/debug/warden}"
[ -x "$WARDEN_BINARY" ] || { echo "nats-py: no warden binary at $WARDEN_BINARY; run swift build first" >&2; exit 1; }
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider Tests/NATSPy
