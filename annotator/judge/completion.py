"""The fields a judgment needs from a chat completion, read from its JSON.

The model client posts through the openai package but reads the reply as plain
JSON: building the SDK's ``ChatCompletion`` objects cost as much as the rest of
the request. Only a few fields are used, each may be missing on some servers,
and the reply text itself is validated by pydantic afterwards (``schema``).
The Batch API path reads its result lines through the same function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annotator.judge.prices import estimate_messages_tokens, estimate_tokens


@dataclass
class CompletionRead:
    text: str | None
    prompt_tokens: int
    completion_tokens: int
    logprobs: list[dict] | None = None  # the reply's tokens with their top log-probabilities
    note: str | None = None  # truncation or refusal, for the stored call's error


def read_completion(completion: dict, send: dict) -> CompletionRead:
    """Fields of an OpenAI-shaped completion; usage is estimated when the server gives none."""
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    text = message.get("content")
    tokens = (choice.get("logprobs") or {}).get("content")
    usage = completion.get("usage")
    if isinstance(usage, dict):
        prompt_tokens = usage.get("prompt_tokens") or 0
        completion_tokens = usage.get("completion_tokens") or 0
    else:  # some servers omit usage; estimate so spending is never zero
        prompt_tokens = estimate_messages_tokens(send["messages"])
        completion_tokens = estimate_tokens(text or "")
    notes = []
    if choice.get("finish_reason") == "length":
        notes.append("reply truncated (finish_reason=length)")
    refusal = message.get("refusal")
    if refusal:
        notes.append(f"model refused: {str(refusal)[:200]}")
    return CompletionRead(
        text,
        prompt_tokens,
        completion_tokens,
        [without_none(t) for t in tokens] if tokens else None,
        "; ".join(notes) or None,
    )


def without_none(value: Any) -> Any:
    """A JSON value without its null fields, at every depth (as stored since the first release)."""
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value
