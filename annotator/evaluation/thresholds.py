"""Pass/fail limits on an :class:`EvalResult`.

A threshold names a metric, ``<kind>_<label>`` (``spearman_ai``, ``auroc_ai``,
``mae_novelty``...), or ``max_missing_rate``. For errors (``mae``, ``rmse``) and the
missing rate the value must be at most the limit; for every other metric at least the
limit. The point estimate is checked (its interval is shown beside it in reports).
An undefined metric fails its threshold. Limits come from the suite's ``[thresholds]``
table; ``--fail-under name=value`` overrides them or adds new ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from ..errors import ConfigError, InputError, ThresholdBreached
from .metrics import LOWER_IS_BETTER
from .results import EvalResult, ThresholdCheck

MISSING = "max_missing_rate"


def parse_fail_under(values: str | Iterable[str] | None) -> dict[str, float]:
    """``["spearman_ai=0.3", "auroc_ai=0.6,qwk_ai=0.1"]`` -> ``{"spearman_ai": 0.3, ...}``."""
    if values is None:
        return {}
    if isinstance(values, str):
        values = [values]
    out: dict[str, float] = {}
    for value in values:
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            name, sep, number = part.partition("=")
            name = name.strip()
            if not sep or not name:
                raise InputError(f"expected NAME=VALUE, got {part!r}", field="--fail-under")
            try:
                limit = float(number)
            except ValueError:
                raise InputError(f"{name}: {number.strip()!r} is not a number", field="--fail-under") from None
            if not math.isfinite(limit):
                raise InputError(f"{name}: limit must be finite", field="--fail-under")
            out[name] = limit
    return out


def direction(name: str) -> str:
    kind = name.partition("_")[0]
    return "max" if name == MISSING or kind in LOWER_IS_BETTER else "min"


def _check(result: EvalResult, name: str, limit: float, source: str) -> ThresholdCheck:
    way = direction(name)
    if name == MISSING:
        value = result.counts.missing_rate
        what = f"missing rate ({result.counts.n_missing} of {result.counts.n_total})"
    else:
        mv = result.metric(name)
        value = mv.value if mv is not None else None
        what = name
    if value is None:
        undefined = result.metric(name) if name != MISSING else None
        why = (undefined.note if undefined is not None else None) or "undefined"
        return ThresholdCheck(
            name=name,
            limit=limit,
            direction=way,
            value=None,
            passed=False,
            source=source,
            message=f"{what} is {why}; cannot check {limit:g}",
        )
    passed = value >= limit if way == "min" else value <= limit
    op = (">=" if passed else "<") if way == "min" else ("<=" if passed else ">")
    return ThresholdCheck(
        name=name,
        limit=limit,
        direction=way,
        value=value,
        passed=passed,
        source=source,
        message=f"{what} = {value:.3f} {op} {limit:g}",
    )


def check_thresholds(
    result: EvalResult,
    overrides: Mapping[str, float] | None = None,
) -> list[ThresholdCheck]:
    """Check the suite's thresholds (kept in ``result.settings["thresholds"]``) plus overrides.

    Raises ConfigError for a name that is neither a metric of this result nor max_missing_rate.
    """
    base = dict(result.settings.get("thresholds") or {})
    overrides = dict(overrides or {})
    known = set(result.metric_names()) | {MISSING}
    unknown = sorted(set(base) - known) + sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown threshold {unknown[0]!r}; this evaluation has: {', '.join(sorted(known))}")
    merged = {**base, **overrides}
    return [_check(result, name, limit, "override" if name in overrides else "suite") for name, limit in merged.items()]


def apply_thresholds(
    result: EvalResult,
    overrides: Mapping[str, float] | None = None,
) -> EvalResult:
    """A copy of ``result`` whose ``thresholds`` are rechecked with ``overrides``."""
    return result.model_copy(update={"thresholds": check_thresholds(result, overrides)})


def raise_for_thresholds(result: EvalResult) -> None:
    """Raise ThresholdBreached naming every failed threshold (nothing if all passed)."""
    failed = result.failures
    if failed:
        raise ThresholdBreached("evaluation thresholds breached: " + "; ".join(t.message for t in failed))
