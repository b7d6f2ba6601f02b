"""The head shipped for the embedded model: reproducible byte for byte from the shipped
vectors, and found for the default prompt version and model."""

from __future__ import annotations

import pytest

from annotator.heads.head_store import find_head
from annotator.heads.shipped import SHIPPED, build_shipped, fit_code_hash, shipped_path
from annotator.judge.local_model import MODEL_NAME
from annotator.prompts.files import load_prompt

pytestmark = pytest.mark.skipif(not shipped_path().is_file(), reason="no shipped head")


def test_rebuilding_gives_the_same_bytes():
    rebuilt = build_shipped()
    assert rebuilt.dumps() + "\n" == shipped_path().read_text(encoding="utf-8")
    assert rebuilt.provenance["fit_code_sha256"] == fit_code_hash()


def test_default_prompt_and_model_find_the_shipped_head():
    stored = find_head(None, load_prompt("embed@1"), MODEL_NAME)
    assert stored.head_id is None and stored.source.endswith("smollm2/head.json")
    head = stored.head
    assert {"ai", "novelty"} <= set(head.targets)
    assert head.neighbours is not None and len(head.neighbours.papers) == len(head.split.folds)
    # every labelled paper it was fitted on has an out-of-fold prediction
    assert set(head.targets["ai"].oof) == {p["id"] for p in head.neighbours.papers
                                          if p["ai"] is not None}
    assert (SHIPPED / "embeddings.npy").is_file()
