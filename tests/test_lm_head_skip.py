"""The embedding server leaves out the vocabulary projection (``annotator.judge.llama_server``):
the vectors stay exactly those of llama.cpp's ordinary path, generation keeps its
projection, and a tensor that does not look like the one expected is left alone."""

from __future__ import annotations

import ctypes
import importlib.util

import numpy as np
import pytest
from _local import TEXTS, needs_local

from annotator.judge.llama_server import _NAME_OFFSET, _NE_OFFSET, _OP_OFFSET, SKIPPED_NODE, LmHeadSkip


def fake_tensor(name: bytes, n_vocab: int, op: int) -> ctypes.Array:
    """A zeroed block laid out like a ggml_tensor's first fields."""
    block = ctypes.create_string_buffer(512)
    ctypes.memmove(ctypes.addressof(block) + _NAME_OFFSET, name, len(name))
    ctypes.c_int64.from_buffer(block, _NE_OFFSET).value = n_vocab
    ctypes.c_int.from_buffer(block, _OP_OFFSET).value = op
    return block


def op_of(block: ctypes.Array) -> int:
    return ctypes.c_int.from_buffer(block, _OP_OFFSET).value


def test_the_projection_is_skipped_only_while_embedding_and_restored_after():
    skip = LmHeadSkip(n_vocab=49152)
    node = fake_tensor(SKIPPED_NODE, 49152, op=29)
    address = ctypes.addressof(node)
    assert skip(address, True, None) is False  # never observed: the graph runs in one piece
    assert op_of(node) == 29 and skip.skipped == 0
    skip.active = True
    skip(address, True, None)
    assert op_of(node) == 0 and skip.skipped == 1
    skip.active = False  # a reused graph, now generating
    skip(address, True, None)
    assert op_of(node) == 29
    assert skip(address, False, None) is True  # after a node: go on


def test_a_node_of_another_name_or_shape_is_left_alone():
    skip = LmHeadSkip(n_vocab=49152)
    skip.active = True
    other = fake_tensor(b"ffn_up-0", 49152, op=29)
    wrong_shape = fake_tensor(SKIPPED_NODE, 1536, op=29)
    for node in (other, wrong_shape):
        skip(ctypes.addressof(node), True, None)
        assert op_of(node) == 29
    assert skip.skipped == 0


@pytest.mark.slow
@needs_local
def test_vectors_with_the_skip_are_those_without_and_generation_still_works():
    from llama_cpp import Llama

    from annotator.judge.llama_server import install
    from annotator.judge.local_model import gguf_path

    def model() -> Llama:
        return Llama(
            model_path=str(gguf_path()),
            embedding=True,
            n_ctx=1024,
            n_batch=512,
            n_ubatch=512,
            n_threads=1,
            verbose=False,
            kv_overrides={"llama.pooling_type": 1},
        )

    plain, skipping = model(), model()
    skip = install(skipping)
    assert skip is not None, "the probe found the skip changes vectors"
    before = skip.skipped
    want = np.array(plain.embed(TEXTS))
    got = np.array(skipping.embed(TEXTS))
    assert skip.skipped > before  # the projection was left out of these calls
    assert got.shape == (len(TEXTS), 576)
    assert np.array_equal(got, want)
    assert not np.array_equal(got[0], got[1])  # the check can tell texts apart
    # outside embed() the projection is computed again: the same greedy tokens
    prompt = "The capital of France is"
    expect = plain.create_completion(prompt, max_tokens=6, temperature=0.0)["choices"][0]["text"]
    text = skipping.create_completion(prompt, max_tokens=6, temperature=0.0)["choices"][0]["text"]
    assert text == expect and text.strip()
    plain.close()
    skipping.close()
