#!/usr/bin/env bash
# Tokenizer parity on generated text (scripts/eval/tokenizer_parity_generated.py): Warden's `tokenize` command against
# Hugging Face `tokenizers` (pinned below) rebuilt from tokenizer/. The package goes into .venv-tokparity
# (git-ignored), made with Debian's Python; PyPI must be reachable the first time.
#
#   scripts/test_tokenizer_parity.sh [ARGS...]    after `swift build` (uses .build/debug/warden); ARGS go to the script
#   WARDEN_BINARY=path scripts/test_tokenizer_parity.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TOKENIZERS_VERSION=0.23.3
venv=.venv-tokparity
if ! "$venv/bin/python" -c "import sys; from importlib.metadata import version; import tokenizers; sys.exit(version('tokenizers') != '$TOKENIZERS_VERSION')" 2>/dev/null; then
  echo "tokenizer parity: installing tokenizers==$TOKENIZERS_VERSION into $venv" >&2
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  # --no-deps: huggingface-hub only serves downloads, which the offline reference never does.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "tokenizers==$TOKENIZERS_VERSION"
fi
binary="${WARDEN_BINARY:-$PWD/.build/debug/warden}"
[ -x "$binary" ] || { echo "tokenizer parity: no warden binary at $binary; run swift build first" >&2; exit 1; }
export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
PYTHONPATH=scripts exec "$venv/bin/python" -m eval.tokenizer_parity_generated --cmd "$binary tokenize" "$@"
