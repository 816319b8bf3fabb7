#!/usr/bin/env python3
"""Kept at this path because warden's tokenizer errors name it; the exporter is generate/export_tokenizer.py
(PYTHONPATH=scripts python3 -m generate.export_tokenizer), with the same arguments."""
from generate.export_tokenizer import main

if __name__ == "__main__":
    main()
