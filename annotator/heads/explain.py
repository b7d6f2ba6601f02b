"""The rationale of an embedding-head judgment: the closest labelled papers and what the
head predicts, in words a reader can check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .model import TARGET_WORDS, Head

MAX_TITLE = 90
WHAT = "a predictor of review scores fitted on public reviews, not a reviewer"


def _title(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 3].rstrip() + "..."


def describe(paper: Mapping[str, Any]) -> str:
    """``Title (ICLR 2022, mean rating 6.5, accepted)``."""
    parts = [" ".join(str(p) for p in (paper.get("venue"), paper.get("year")) if p)]
    if paper.get("ai") is not None:
        parts.append(f"mean rating {float(paper['ai']):.1f}")
    if paper.get("accepted") is not None:
        parts.append("accepted" if paper["accepted"] else "rejected")
    return f"{_title(str(paper.get('title') or paper.get('id')))} ({', '.join(p for p in parts if p)})"


def ordinal(n: float) -> str:
    """``51`` -> ``51st``, ``12`` -> ``12th``: a rounded percentile as English reads it."""
    k = round(n)
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def percentile_sentence(head: Head, predicted: Mapping[str, float], scores: Mapping[str, float]) -> str:
    """Where a paper is predicted to rank, with the head's 80 % range, for a head whose
    targets are percentiles within a venue-year (both judges' rationales)."""
    lo, hi = head.targets["ai"].interval(predicted["ai"])
    return (
        f"Predicted to rank at the {ordinal(predicted['ai'])} percentile of its venue's "
        f"submissions by {TARGET_WORDS['ai']} (80 % range {max(lo, 0):.0f}-{min(hi, 100):.0f}), "
        f"above {scores['ai']:.0f} % of the labelled papers; {TARGET_WORDS['novelty']} at the "
        f"{ordinal(predicted['novelty'])} percentile, above {scores['novelty']:.0f} %."
    )


def percentile_targets(head: Head) -> bool:
    """Whether the head predicts ranks within a venue-year (the shipped heads) rather than
    labels on their own scale (heads fitted with ``annotator eval fit``)."""
    return str(head.labels.get("ai", {}).get("scale", "")).startswith("percentile")


def rationale(
    head: Head, predicted: Mapping[str, float], scores: Mapping[str, float], near: Sequence[Mapping[str, Any]]
) -> str:
    lines = []
    if near:
        lines.append("Closest labelled papers: " + "; ".join(describe(p) for p in near) + ".")
    if percentile_targets(head):
        lines.append(percentile_sentence(head, predicted, scores))
    else:
        lo, hi = head.targets["ai"].interval(predicted["ai"])
        lines.append(
            f"Predicted mean rating {predicted['ai']:.1f} (80 % range {lo:.1f}-{hi:.1f}), "
            f"above {scores['ai']:.0f} % of the labelled papers; predicted novelty label "
            f"{predicted['novelty']:.2f}, above {scores['novelty']:.0f} %."
        )
    lines.append(f"This is {WHAT}.")
    return " ".join(lines)
