"""Prices per million tokens, and offline token estimates.

The table holds list prices (USD per 1M input / output tokens) for common
OpenAI models; ``ANNOTATOR_PRICES`` may name a JSON file
``{"model": [input, output]}`` that adds to or overrides it. Models not in the
table (local servers) cost 0.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

from annotator.errors import ConfigError

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o4-mini": (1.10, 4.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}
BATCH_DISCOUNT = 0.5  # the Batch API bills half


@lru_cache(maxsize=4)
def _load_prices(path: str | None) -> dict[str, tuple[float, float]]:
    prices = dict(DEFAULT_PRICES)
    if path:
        try:
            extra = json.loads(open(path, encoding="utf-8").read())
            prices.update({k: (float(v[0]), float(v[1])) for k, v in extra.items()})
        except (OSError, ValueError, TypeError, IndexError) as exc:
            raise ConfigError(f"{path}: price table must be {{\"model\": [input, output]}}: {exc}") from None
    return prices


def prices() -> dict[str, tuple[float, float]]:
    return _load_prices(os.environ.get("ANNOTATOR_PRICES"))


def price_for(model: str) -> tuple[float, float]:
    table = prices()
    if model in table:
        return table[model]
    # dated snapshots ("gpt-4o-mini-2024-07-18") take the base model's price
    for name in sorted(table, key=len, reverse=True):
        if model.startswith(name + "-"):
            return table[name]
    return (0.0, 0.0)


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int, *, batch: bool = False) -> float:
    pin, pout = price_for(model)
    cost = (prompt_tokens * pin + completion_tokens * pout) / 1_000_000
    return cost * (BATCH_DISCOUNT if batch else 1.0)


def estimate_tokens(text: str) -> int:
    """About four characters a token for English prose; no tokenizer download needed."""
    return max(1, (len(text) + 3) // 4)


def estimate_messages_tokens(messages: list[dict]) -> int:
    return sum(estimate_tokens(m.get("content") or "") + 4 for m in messages) + 3
