"""Warden's Python reference code, shared by every script: paths (repository, models, datasets, the `warden`
binary), the text normalisations (warden_text), the tokenizer reference (tokenizer_reference), obfuscation
(obfuscation) and the functional-set reader (functional_io).

It imports nothing from the other folders of scripts/ and needs only the standard library, except
tokenizer_reference, which loads Hugging Face `tokenizers` when asked for the reference.
"""
