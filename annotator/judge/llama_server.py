"""The embedded model's server process: llama-cpp-python's OpenAI-compatible server,
with the vocabulary projection left out of embedding calls.

Run as ``python -m annotator.judge.llama_server [llama_cpp.server flags]
[--skip-lm-head false]`` (``LocalModelServer.command`` builds the line).

Why: in embedding mode the llama.cpp bundled with llama-cpp-python still multiplies every
token's last hidden state by the vocabulary matrix (49,152 x 576 for SmolLM2, a fifth of
the model's arithmetic per token) and then throws the logits away; the pooled vector is
taken from the hidden states before it. llama.h offers no switch for that here, so this
process sets llama.cpp's graph callback (``cb_eval``), which sees every graph node before
it is computed, and turns the node named ``result_output`` into a no-op while
``Llama.embed`` runs. Generation is untouched (the node is restored outside embedding
calls). At start-up the process embeds a probe text with and without the skip and keeps
it only when the two vectors are identical, so a llama.cpp whose tensors are laid out
differently gets the ordinary server, never wrong vectors. Measured in
``bench/bench_embeddings.py``; docs/judges.md ("Embedding speed").
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

SKIP_FLAG = "--skip-lm-head"
SKIPPED_NODE = b"result_output"  # llama.cpp's name for the vocabulary projection's output
PROBE = "A probe sentence, embedded twice at start-up to check the skip changes nothing."

# ggml_tensor field offsets on 64-bit builds (ggml.h: type, buffer, ne[4], nb[4], op, ...,
# name at 256); checked at start-up by the probe, never trusted blindly
_NE_OFFSET, _OP_OFFSET, _NAME_OFFSET, _NAME_BYTES = 16, 80, 256, 64
_GGML_OP_NONE = 0


class LmHeadSkip:
    """The graph callback of one ``Llama``: while ``active``, the vocabulary projection
    node is a no-op; otherwise it is computed as llama.cpp built it."""

    def __init__(self, n_vocab: int):
        self.n_vocab = n_vocab
        self.active = False
        self.skipped = 0  # nodes skipped so far (the probe and the tests read it)
        self._op: int | None = None  # the node's own operation, to restore it

    def __call__(self, tensor: int, ask: bool, _user_data: Any) -> bool:
        if not ask:
            return True  # nothing is observed, so the graph runs on
        name = ctypes.string_at(tensor + _NAME_OFFSET, _NAME_BYTES).split(b"\0", 1)[0]
        if name != SKIPPED_NODE:
            return False
        if ctypes.c_int64.from_address(tensor + _NE_OFFSET).value != self.n_vocab:
            return False  # not the layout this was written for: leave the graph alone
        op = ctypes.c_int.from_address(tensor + _OP_OFFSET)
        if op.value != _GGML_OP_NONE:
            self._op = op.value
        if self.active:
            op.value = _GGML_OP_NONE
            self.skipped += 1
        elif self._op is not None:
            op.value = self._op  # a reused graph gets its projection back for generation
        return False


def install(llm: Any) -> LmHeadSkip | None:
    """Give ``llm`` (a ``llama_cpp.Llama`` made with ``embedding=True``) a context with the
    skip, and wrap its ``embed`` to use it; None (and ``llm`` as it was) when the probe's
    vectors differ or nothing was skipped."""
    import llama_cpp
    from llama_cpp import _internals

    before = llm.embed(PROBE)
    skip = LmHeadSkip(llm.n_vocab())
    callback = llama_cpp.ggml_backend_sched_eval_callback(skip)
    old_ctx, old_callback = llm._ctx, llm.context_params.cb_eval
    llm.context_params.cb_eval = callback
    llm._ctx = _internals.LlamaContext(model=llm._model, params=llm.context_params, verbose=llm.verbose)
    plain_embed: Callable[..., Any] = llm.embed

    def embed(*args: Any, **kwargs: Any) -> Any:
        skip.active = True
        try:
            return plain_embed(*args, **kwargs)
        finally:
            skip.active = False

    llm.embed = embed
    after = llm.embed(PROBE)
    if skip.skipped == 0 or after != before:
        llm.embed = plain_embed
        llm.context_params.cb_eval = old_callback
        llm._ctx.close()
        llm._ctx = old_ctx
        return None
    old_ctx.close()
    llm._lm_head_skip = (skip, callback)  # the C callback must outlive the context
    return skip


def main(argv: list[str] | None = None) -> None:
    """llama_cpp.server's own ``main``, with the skip installed in every embedding model
    it loads unless ``--skip-lm-head false``."""
    from llama_cpp.server import __main__ as server_main
    from llama_cpp.server.model import LlamaProxy

    args = list(sys.argv[1:] if argv is None else argv)
    skip_wanted = True
    if SKIP_FLAG in args:
        i = args.index(SKIP_FLAG)
        skip_wanted = args[i + 1].lower() not in ("false", "0", "no")
        del args[i : i + 2]
    load = LlamaProxy.load_llama_from_model_settings

    def load_with_skip(settings: Any) -> Any:
        llm = load(settings)
        if skip_wanted and settings.embedding:
            try:
                skip = install(llm)
            except Exception as exc:  # another llama-cpp-python: serve as llama.cpp does
                print(f"annotator: lm_head skip for embeddings off ({exc!r})", flush=True)
                llm.close()
                return load(settings)
            print(f"annotator: lm_head skip for embeddings {'on' if skip else 'off (probe failed)'}", flush=True)
        return llm

    LlamaProxy.load_llama_from_model_settings = staticmethod(load_with_skip)  # type: ignore[method-assign]
    sys.argv = [sys.argv[0], *args]
    server_main.main()


if __name__ == "__main__":
    main()
