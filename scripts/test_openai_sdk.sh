#!/usr/bin/env bash
# Runs Tests/OpenAISDK with the official `openai` Python SDK (pinned below) against the built `warden`.
# The SDK and pytest go into .venv-openai (git-ignored), made with Debian's Python; PyPI must be reachable.
#
#   scripts/test_openai_sdk.sh            after `swift build` (uses .build/debug/warden)
#   WARDEN_BINARY=path scripts/test_openai_sdk.sh
set -euo pipefail
cd "$(dirname "$0")/.."

OPENAI_SDK_VERSION=3.57.0
PYTEST_VERSION=8.3.4
VENV=.venv-openai

if ! "$VENV/bin/python" -c "import openai, pytest, sys; sys.exit(openai.__version__ != '$OPENAI_SDK_VERSION')" 2>/dev/null; then
  echo "openai-sdk: installing openai==$OPENAI_SDK_VERSION and pytest==$PYTEST_VERSION into $VENV" >&2
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "openai==$OPENAI_SDK_VERSION" "pytest==$PYTEST_VERSION"
fi

export WARDEN_BINARY="${WARDEN_BINARY:-$PWD/.build/debug/warden}"
[ -x "$WARDEN_BINARY" ] || { echo "openai-sdk: no warden binary at $WARDEN_BINARY; run swift build first" >&2; exit 1; }
export OPENAI_SDK_VERSION
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider Tests/OpenAISDK
