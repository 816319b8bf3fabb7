#!/usr/bin/env python3
"""Kept at this path because `warden tune` names it in its help and errors; the generator is
generate/make_chat_corpus.py (PYTHONPATH=scripts python3 -m generate.make_chat_corpus), with the same arguments."""
from generate.make_chat_corpus import main

if __name__ == "__main__":
    main()
