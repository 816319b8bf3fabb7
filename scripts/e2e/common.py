"""What the broker end-to-end runs share (standard library only): timestamped lines and the chat corpus."""
from __future__ import annotations

import time

from warden_tools.paths import CHAT_CORPUS


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def corpus(count: int) -> list[str]:
    """`count` chat messages: the lines of Benchmarks/corpus/chat.txt, repeated."""
    with open(CHAT_CORPUS, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    return [lines[i % len(lines)] for i in range(count)]
