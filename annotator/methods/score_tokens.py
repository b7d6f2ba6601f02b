"""Finding the token that carries a score in a JSON reply, and its distribution.

The reply's log-probabilities (OpenAI's ``choices[0].logprobs.content``) list
the tokens of the reply in order, each with its ``top_logprobs`` alternatives.
The value of a score field is located in the reply text; the token(s) whose
bytes cover it are found by walking the tokens' bytes. A value in one token
gives a distribution over the scale: every alternative that reads as a scale
value (with the same text around the digits as the chosen token) counts.
"""

from __future__ import annotations

import math
import re


class ScoreTokenError(ValueError):
    """The reply's log-probabilities cannot give a score distribution (a failed judgment)."""


def _token_bytes(token: dict) -> bytes:
    raw = token.get("bytes")
    if isinstance(raw, list):
        return bytes(raw)
    return str(token.get("token", "")).encode("utf-8")


def value_span(content: str, name: str) -> tuple[int, int, str]:
    """Byte offsets (start, end) of the integer value of ``name`` in the reply, and the digits."""
    m = re.search(rf'"{re.escape(name)}"\s*:\s*"?(-?\d+)', content)
    if m is None:
        raise ScoreTokenError(f"the reply has no integer value for '{name}'")
    start = len(content[: m.start(1)].encode("utf-8"))
    return start, start + len(m.group(1).encode("utf-8")), m.group(1)


def score_distribution(content: str, tokens: list[dict], name: str, scale: tuple[int, int]) -> dict[int, float]:
    """P(value) over ``scale`` for field ``name``, from the top log-probabilities of its token."""
    start, end, digits = value_span(content, name)
    pos, covering = 0, []
    for token in tokens:
        raw = _token_bytes(token)
        if pos < end and pos + len(raw) > start:
            covering.append((pos, raw, token))
        pos += len(raw)
    if pos != len(content.encode("utf-8")):
        raise ScoreTokenError(
            "the log-probabilities do not spell the reply text "
            f"({pos} bytes of tokens for {len(content.encode('utf-8'))} of text)"
        )
    if len(covering) != 1:
        raise ScoreTokenError(
            f"the value of '{name}' ({digits}) is split over {len(covering)} tokens; expected "
            "scores need a scale whose values are single tokens (e.g. 1-9)"
        )
    at, raw, token = covering[0]
    prefix, suffix = raw[: start - at], raw[end - at :]
    lo, hi = scale
    probs: dict[int, float] = {}
    alternatives = list(token.get("top_logprobs") or [])
    if not any(_token_bytes(a) == raw for a in alternatives):
        alternatives.append(token)  # the chosen token is always a candidate
    for alt in alternatives:
        text = _token_bytes(alt)
        if not (text.startswith(prefix) and text.endswith(suffix)):
            continue
        middle = text[len(prefix) : len(text) - len(suffix) if suffix else None]
        try:
            value = int(middle.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if lo <= value <= hi and str(value).encode() == middle:
            probs[value] = probs.get(value, 0.0) + math.exp(float(alt["logprob"]))
    total = sum(probs.values())
    if total <= 0:
        raise ScoreTokenError(f"no alternative of the '{name}' token is a value on the scale {lo}-{hi}")
    return {v: p / total for v, p in sorted(probs.items())}


def expected_value(dist: dict[int, float]) -> float:
    return sum(v * p for v, p in dist.items())


def to_percent(value: float, scale: tuple[int, int]) -> float:
    """A value on ``scale`` as 0-100."""
    lo, hi = scale
    return (value - lo) / (hi - lo) * 100.0
