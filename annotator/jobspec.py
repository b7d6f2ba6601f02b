"""The job specification every judging command shares: which prompt, which model, how
many calls at once, how many samples, the cost limit and the rate limits.

``annotate``, ``worker``, ``batch submit``, ``eval run`` and ``feed run`` take these
options with one help text, one default and one range (``commands/job_options.py``
declares them from here), and their options types are a ``JobSpec`` plus their own
extras. A spec is checked once, when it is made.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from annotator.errors import ConfigError

CONCURRENCY = (1, 1024)  # calls in flight at once
SAMPLES = (1, 20)  # asks per paper (the median is stored)
DEFAULT_CONCURRENCY = 8
DEFAULT_SAMPLES = 1


@dataclass(kw_only=True)
class JobSpec:
    prompt: str | None = None  # NAME@VERSION or NAME; None: the default (prompts.resolve)
    model: str | None = None  # default: ANNOTATOR_MODEL, else the endpoint's
    concurrency: int = DEFAULT_CONCURRENCY
    samples: int = DEFAULT_SAMPLES  # above 1: ask K times, store the median; 1: the prompt's own
    max_cost: float | None = None  # USD; stop before spending more
    rpm: float | None = None  # requests per minute
    tpm: float | None = None  # tokens per minute

    def __post_init__(self) -> None:
        for name, (low, high) in (("concurrency", CONCURRENCY), ("samples", SAMPLES)):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
        for name in ("max_cost", "rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"{name} cannot be negative: {value}")

    def spec(self, **changes: Any) -> JobSpec:
        """The job alone (an options type's own extras left out), with ``changes`` applied."""
        values = {f.name: getattr(self, f.name) for f in fields(JobSpec)}
        return JobSpec(**{**values, **changes})
