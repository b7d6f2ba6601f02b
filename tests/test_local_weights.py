"""The embedding server's weights: the packaged Q4_1 file or an F16 copy made from it once,
in the cache folder, and the vectors each gives."""

from __future__ import annotations

import os

import numpy as np
import pytest
from _local import TEXTS, needs_local

from annotator.errors import ConfigError
from annotator.judge import local_weights
from annotator.judge.embeddings import EmbeddingsClient
from annotator.judge.local_model import MODEL_NAME, LocalModelServer, gguf_path
from annotator.judge.local_weights import weights_file
from annotator.settings import current


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("ANNOTATOR_CACHE_DIR", str(folder))
    return folder


def test_unknown_weights_are_refused(cache, monkeypatch, tmp_path):
    source = tmp_path / "model.gguf"
    source.write_bytes(b"GGUF")
    with pytest.raises(ConfigError, match="unknown local model weights 'q8'"):
        weights_file(source, "q8")
    with pytest.raises(ConfigError, match="unknown local model weights"):
        LocalModelServer(embedding=True, weights="q8")
    monkeypatch.setenv("ANNOTATOR_LOCAL_EMBEDDING_WEIGHTS", "q8")
    with pytest.raises(ConfigError, match="ANNOTATOR_LOCAL_EMBEDDING_WEIGHTS"):
        current()
    assert weights_file(source, "packaged") == source
    assert not cache.exists()  # the packaged file needs no copy


def test_a_file_llama_cpp_cannot_read_leaves_no_copy(cache, tmp_path):
    source = tmp_path / "broken.Q4_1.gguf"
    source.write_bytes(b"not a model file at all")
    with pytest.raises(ConfigError, match="converting broken.Q4_1.gguf to F16 failed"):
        weights_file(source, "f16")
    assert list(cache.iterdir()) == []  # no half-written file under any name


def test_a_cache_folder_that_cannot_be_written_is_named(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ANNOTATOR_CACHE_DIR", str(blocker / "cache"))
    source = tmp_path / "model.gguf"
    source.write_bytes(b"GGUF")
    with pytest.raises(ConfigError, match=f"cannot write the F16 copy of the local model in {blocker / 'cache'}"):
        weights_file(source, "f16")


def test_the_copy_is_named_by_the_source_bytes(tmp_path):
    a, b = tmp_path / "a.Q4_1.gguf", tmp_path / "b.Q4_1.gguf"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    assert local_weights.f16_name(a) != local_weights.f16_name(b)
    b.write_bytes(b"one")
    assert local_weights.f16_name(a).replace("a.", "", 1) == local_weights.f16_name(b).replace("b.", "", 1)


@needs_local
def test_the_f16_copy_is_made_once_and_then_reused(cache):
    source = gguf_path()
    first = weights_file(source, "f16")
    assert first.parent == cache and first.is_file()
    assert first.read_bytes()[:4] == b"GGUF"
    # F16 holds 16 bits a weight where Q4_1 holds 5 (four and a shared scale and minimum)
    assert first.stat().st_size > 2.5 * source.stat().st_size
    made = first.stat().st_mtime_ns
    assert weights_file(source, "f16") == first
    assert first.stat().st_mtime_ns == made  # not converted again
    assert [p.name for p in cache.iterdir()] == [first.name]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.slow
@needs_local
def test_f16_weights_give_nearly_the_packaged_vectors_but_not_the_same():
    """Close enough that a head fitted on one scores the other alike, not bit-equal: which
    weights made a head's training vectors is recorded, and the cache keeps them apart."""
    vectors = {}
    for weights in ("packaged", "f16"):
        with LocalModelServer(embedding=True, replicas=1, weights=weights) as server:
            assert (server.model_path == gguf_path()) == (weights == "packaged")
            client = EmbeddingsClient(MODEL_NAME, base_url=server.base_url, batch_size=8)
            vectors[weights] = client.embed(TEXTS)
    cos = cosines(vectors["packaged"], vectors["f16"])
    assert cos.min() > 0.9995, cos
    assert not np.array_equal(vectors["packaged"], vectors["f16"])


@needs_local
def test_without_a_writable_cache_the_server_reads_the_packaged_file(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ANNOTATOR_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setenv("ANNOTATOR_LOCAL_REPLICAS", "1")
    with LocalModelServer(embedding=True, weights="f16") as server:
        assert server.model_path == gguf_path()
        client = EmbeddingsClient(MODEL_NAME, base_url=server.base_url)
        assert client.embed(TEXTS[:1]).shape == (1, 576)
    assert "reads the packaged weights instead" in caplog.text
    assert os.fspath(blocker / "cache") in caplog.text


def test_the_cache_folder_follows_the_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("ANNOTATOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert local_weights.cache_dir() == tmp_path / "xdg" / "annotator"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert local_weights.cache_dir() == tmp_path / "home" / ".cache" / "annotator"
    monkeypatch.setenv("ANNOTATOR_CACHE_DIR", str(tmp_path / "mine"))
    assert local_weights.cache_dir() == tmp_path / "mine"
