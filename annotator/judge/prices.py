"""Prices per million tokens, and offline token estimates.

The table holds list prices (USD per 1M input / output tokens) for common
OpenAI models; ``ANNOTATOR_PRICES`` may name a JSON file
``{"model": [input, output]}`` (or hold that JSON itself) that adds to or
overrides it. A model matches an entry by its exact name, or as a dated
snapshot of it (``gpt-4o-mini-2024-07-18`` is ``gpt-4o-mini``); nothing else
matches, so ``gpt-5-pro`` never takes ``gpt-5``'s price. A model without a
price is counted at 0, and a run says so once (``warn_unpriced``); a cost
limit needs a price (``require_price``).
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache

from annotator.errors import ConfigError
from annotator.settings import current

log = logging.getLogger("annotator")

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
    "gpt-5-pro": (15.00, 120.00),
    "gpt-5.1": (1.25, 10.00),
    "o3": (2.00, 8.00),
    # embeddings models: input tokens only (the embedding judge)
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
    "text-embedding-ada-002": (0.10, 0.0),
}
# "-2024-07-18" (today's snapshots) or "-0613" (older ones) after the base name
_SNAPSHOT = re.compile(r"^(?P<base>.+)-(?:\d{4}-\d{2}-\d{2}|\d{4})$")
BATCH_DISCOUNT = 0.5  # the Batch API bills half


@lru_cache(maxsize=4)
def _load_prices(source: str | None) -> dict[str, tuple[float, float]]:
    prices = dict(DEFAULT_PRICES)
    if source:
        where = "ANNOTATOR_PRICES" if source.lstrip().startswith("{") else source
        try:
            raw = source if where == "ANNOTATOR_PRICES" else open(source, encoding="utf-8").read()
            extra = json.loads(raw)
            prices.update({k: (float(v[0]), float(v[1])) for k, v in extra.items()})
        except (OSError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
            raise ConfigError(
                f'{where}: price table must be {{"model": [input, output]}} (USD per 1M tokens): {exc}'
            ) from None
    return prices


def prices() -> dict[str, tuple[float, float]]:
    return _load_prices(current().prices)


def known_price(model: str) -> tuple[float, float] | None:
    """The model's price: its own entry, or its base model's for a dated snapshot; else None."""
    table = prices()
    if model in table:
        return table[model]
    snapshot = _SNAPSHOT.match(model)
    if snapshot and snapshot["base"] in table:
        return table[snapshot["base"]]
    return None


def price_for(model: str) -> tuple[float, float]:
    """The model's price, 0 when unknown (see ``warn_unpriced``)."""
    return known_price(model) or (0.0, 0.0)


def _unpriced(model: str) -> str:
    return (
        f"no price known for model '{model}'; give one in ANNOTATOR_PRICES "
        f'(a JSON file or text: {{"{model}": [input, output]}}, USD per 1M tokens)'
    )


def warn_unpriced(model: str) -> bool:
    """Log one warning if the model has no price (its calls count as $0); True if so."""
    if known_price(model) is not None:
        return False
    log.warning("%s; its calls are counted as $0", _unpriced(model))
    return True


def require_price(model: str) -> None:
    """A cost limit means nothing at $0: refuse when the model has no price."""
    if known_price(model) is None:
        raise ConfigError(f"--max-cost cannot be kept: {_unpriced(model)}")


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int, *, batch: bool = False) -> float:
    pin, pout = price_for(model)
    cost = (prompt_tokens * pin + completion_tokens * pout) / 1_000_000
    return cost * (BATCH_DISCOUNT if batch else 1.0)


def estimate_tokens(text: str) -> int:
    """About four characters a token for English prose; no tokenizer download needed."""
    return max(1, (len(text) + 3) // 4)


def estimate_messages_tokens(messages: list[dict]) -> int:
    return sum(estimate_tokens(m.get("content") or "") + 4 for m in messages) + 3
