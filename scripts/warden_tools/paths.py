"""Where things are: the repository, its models and fixtures, the moderation datasets, the `warden` binary.

Every script asks here instead of working paths out from its own location, so there is one answer to each
question:

  REPO            the repository checkout (the folder above scripts/)
  DEFAULT_MODEL   models/minilm-moderation, the bundle `warden serve` loads by default
  data_root()     the moderation datasets (<dataset>/data.csv): $WARDEN_DATA, else DEFAULT_DATA_ROOT, a folder
                  beside the checkout
  warden_binary() $WARDEN_BINARY, else .build/release/warden, else .build/debug/warden (the first executable)
"""
from __future__ import annotations

import argparse
import os
import sys

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(SCRIPTS)
MODELS = os.path.join(REPO, "models")
DEFAULT_MODEL = os.path.join(MODELS, "minilm-moderation")
FIXTURES = os.path.join(REPO, "Tests", "Fixtures")
TOKENIZER_DIR = os.path.join(REPO, "tokenizer")
CHAT_CORPUS = os.path.join(REPO, "Benchmarks", "corpus", "chat.txt")
PEERS_MESSAGES = os.path.join(REPO, "peers", "messages.txt")
# platform-v2's Unicode tables, written by make_obfuscation_tables.py and read by warden_text.py.
V2_TABLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "warden_text_v2_tables.json")

DATA_ENV = "WARDEN_DATA"
DEFAULT_DATA_ROOT = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
BINARY_ENV = "WARDEN_BINARY"


def data_root() -> str:
    """The folder holding the moderation datasets (<dataset>/data.csv): $WARDEN_DATA, else the default."""
    return os.environ.get(DATA_ENV) or DEFAULT_DATA_ROOT


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """`--data DIR`, defaulting to data_root()."""
    parser.add_argument("--data", default=data_root(), metavar="DIR",
                        help="the moderation datasets folder, holding <dataset>/data.csv "
                             f"(set {DATA_ENV}; default %(default)s)")


def check_data_dir(path: str) -> None:
    """Exits with one line naming the flag when the datasets folder is missing."""
    if not os.path.isdir(path):
        sys.exit(f"error: data folder {path} not found; pass --data DIR (or set {DATA_ENV}) pointing at the datasets")


def build_products(repo: str = REPO) -> list[str]:
    """Where `swift build` leaves the binary, release first."""
    return [os.path.join(repo, ".build", kind, "warden") for kind in ("release", "debug")]


def warden_binary(repo: str = REPO) -> str | None:
    """$WARDEN_BINARY, else the release build, else the debug build: the first that is executable, or None."""
    for path in [os.environ.get(BINARY_ENV, "")] + build_products(repo):
        if path and os.access(path, os.X_OK):
            return path
    return None
