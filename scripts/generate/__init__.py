"""Generators of committed files: the golden fixtures (normalisation, tokenizer, tiny test models), the Unicode
tables compiled into Sources/WordPiece, the tokenizer folder and the chat corpus. Each is deterministic; the
ones that can, take --check to compare with what is committed. Run from the repository root:

    PYTHONPATH=scripts /usr/bin/python3 -m generate.make_normalization_golden --check
"""
