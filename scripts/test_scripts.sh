#!/usr/bin/env bash
# Lints the Python under scripts/ with ruff and runs its tests (scripts/tests) with pytest, both pinned in
# scripts/pyproject.toml ([project.optional-dependencies] test). They go into .venv-scripts (git-ignored), made
# with Debian's Python and rebuilt when the pins change; PyPI must be reachable the first time. No torch, data
# or warden binary needed: about 2 s after the first run.
#
#   scripts/test_scripts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-scripts
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
pins=$("$PYTHON" -c 'import tomllib; print(" ".join(tomllib.load(open("scripts/pyproject.toml", "rb"))["project"]["optional-dependencies"]["test"]))')
if [ "$(cat "$VENV/pins" 2>/dev/null || true)" != "$pins" ]; then
  echo "scripts: installing $pins into $VENV" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  # shellcheck disable=SC2086  # the pins are separate words
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $pins
  echo "$pins" > "$VENV/pins"
fi
cd scripts
"../$VENV/bin/ruff" check .
exec "../$VENV/bin/python" -m pytest
