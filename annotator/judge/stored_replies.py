"""Replies as stored in ``llm_calls.response_text``, log-probabilities included.

A reply to a request that asked for ``logprobs`` is stored as a JSON object
holding its text and its tokens' log-probabilities, so an answer taken from
the stored calls serves the ``expected`` method as well as a fresh one. The
request hash (the cache key) includes the ask for log-probabilities, so a
stored reply is read back the way it was written.
"""

from __future__ import annotations

import json


def pack_reply(text: str | None, logprobs: list[dict] | None) -> str | None:
    """The text to store for a reply (with its log-probabilities when it has them)."""
    if logprobs is None:
        return text
    return json.dumps({"content": text, "logprobs": logprobs}, ensure_ascii=False)


def unpack_reply(text: str, body: dict) -> tuple[str | None, list[dict] | None]:
    """(reply text, log-probabilities) of a stored reply to the request ``body``."""
    if not body.get("logprobs"):
        return text, None
    try:
        stored = json.loads(text)
        return stored["content"], stored["logprobs"]
    except (ValueError, KeyError, TypeError):
        return text, None  # stored by a request that did not get log-probabilities
