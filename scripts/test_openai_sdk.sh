#!/usr/bin/env bash
# Runs Tests/OpenAISDK with the official `openai` Python SDK (pinned below) against the built `warden`.
# The SDK and pytest go into .venv-openai (git-ignored), made with Debian's Python; PyPI must be reachable.
#
#   scripts/test_openai_sdk.sh            after `swift build` (uses .build/debug/warden)
#   WARDEN_BINARY=path scripts/test_openai_sdk.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pytest_suite.sh
export OPENAI_SDK_VERSION=3.57.0
run_pytest_suite openai-sdk .venv-openai openai "$OPENAI_SDK_VERSION" openai Tests/OpenAISDK
