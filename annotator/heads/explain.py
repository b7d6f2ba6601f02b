"""The rationale of an embedding-head judgment: the closest labelled papers and what the
head predicts, in words a reader can check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .model import Head

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
    ai = head.targets["ai"]
    lo, hi = ai.interval(predicted["ai"])
    if percentile_targets(head):
        lines.append(
            f"Predicted to rank at the {predicted['ai']:.0f}th percentile of its venue's "
            f"submissions by mean rating (80 % range {max(lo, 0):.0f}-{min(hi, 100):.0f}), "
            f"above {scores['ai']:.0f} % of the labelled papers; novelty at the "
            f"{predicted['novelty']:.0f}th percentile, above {scores['novelty']:.0f} %."
        )
    else:
        lines.append(
            f"Predicted mean rating {predicted['ai']:.1f} (80 % range {lo:.1f}-{hi:.1f}), "
            f"above {scores['ai']:.0f} % of the labelled papers; predicted novelty label "
            f"{predicted['novelty']:.2f}, above {scores['novelty']:.0f} %."
        )
    lines.append(f"This is {WHAT}.")
    return " ".join(lines)
