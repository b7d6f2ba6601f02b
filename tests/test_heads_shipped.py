"""The heads shipped with the package: reproducible byte for byte from the labelled data and
the training vectors, small enough for a wheel, and found for the default prompt versions."""

from __future__ import annotations

import numpy as np
import pytest

from annotator.heads.head_store import find_head
from annotator.heads.labelled import load_labelled
from annotator.heads.shipped import (
    N_NEIGHBOURS,
    SHIPPED,
    TEXT_CODE,
    VECTORS,
    build_shipped,
    build_text,
    fit_code_hash,
    load_text,
    shipped_path,
    text_path,
)
from annotator.heads.text_shipped import MODEL as TEXT_MODEL
from annotator.judge.endpoint import TEXT_MODEL as ENDPOINT_TEXT_MODEL
from annotator.judge.local_model import MODEL_NAME
from annotator.prompts.files import load_prompt

pytestmark = pytest.mark.skipif(not (shipped_path().is_file() and text_path().is_file()), reason="no shipped heads")

MAX_MB = 7.5  # both heads together, in the wheel (7.0 MB with all 21,246 labelled papers embedded)


@pytest.fixture(scope="module")
def labelled():
    return load_labelled()


def test_rebuilding_the_text_head_gives_the_same_bytes(labelled):
    rebuilt = build_text(labelled)
    assert rebuilt.dumps() + "\n" == text_path().read_text(encoding="utf-8")
    assert rebuilt.provenance["fit_code_sha256"] == fit_code_hash(TEXT_CODE)


def test_rebuilding_the_embedding_head_gives_the_same_bytes(labelled):
    rebuilt = build_shipped(lab=labelled)
    assert rebuilt.dumps() + "\n" == shipped_path().read_text(encoding="utf-8")
    assert rebuilt.text_ref == load_text().hash
    assert rebuilt.provenance["fit_code_sha256"] == fit_code_hash()


def test_the_wheel_carries_fitted_heads_only():
    sizes = [p.stat().st_size for p in (shipped_path(), text_path())]
    assert sum(sizes) < MAX_MB * 1e6, sizes
    assert not (SHIPPED / "embeddings.npy").exists()  # training vectors stay in the repository
    assert (VECTORS / "embeddings.npy").is_file() and (VECTORS / "ids.json").is_file()


def test_default_prompts_find_their_shipped_heads(labelled):
    assert TEXT_MODEL == ENDPOINT_TEXT_MODEL
    stored = find_head(None, load_prompt("embed@1"), MODEL_NAME)
    assert stored.head_id is None and stored.source.endswith("smollm2/head.json")
    head = stored.head
    assert {"ai", "novelty"} <= set(head.targets)
    assert head.neighbours is not None and len(head.neighbours.papers) <= N_NEIGHBOURS
    # every labelled paper it was fitted on has an out-of-fold prediction
    rated = {it.id for it in labelled.items if it.gold_ai is not None}
    assert set(head.targets["ai"].oof) == set(head.split.folds) & rated
    # the stacked head reads the text head's features: vector + one prediction per target
    assert head.text is not None
    x = head.inputs(["A title\n\nAn abstract about graphs."], np.zeros((1, 576)))
    assert x.shape == (1, 576 + len(head.text.targets))
    scores = {n: float(head.targets[n].score(v[0])) for n, v in head.predict(x).items()}
    assert all(0 <= v <= 100 for v in scores.values())

    text = find_head(None, load_prompt("text-head@1"), TEXT_MODEL)
    assert text.source.endswith("text/head.json") and text.head.kind == "text"
    assert text.head.hash == head.text_ref


def test_the_local_server_reads_the_weights_the_shipped_vectors_came_from(monkeypatch):
    """The default server's vectors are the kind the head was fitted on, and the probe that
    lets the cache reuse the training vectors was asked of the same weights."""
    import json

    from annotator.heads.shipped import training_weights
    from annotator.judge.local_model import LocalModelServer
    from annotator.settings import current

    monkeypatch.delenv("ANNOTATOR_LOCAL_EMBEDDING_WEIGHTS", raising=False)
    weights = current().local_embedding_weights
    assert LocalModelServer(embedding=True).weights == weights
    assert training_weights() == weights
    head = find_head(None, load_prompt("embed@1"), MODEL_NAME).head
    assert head.provenance["embedding_weights"] == weights
    probe = json.loads((SHIPPED / "probe.json").read_text(encoding="utf-8"))
    assert probe["weights"] == weights
