"""The h-index from per-paper citation counts.

The largest h such that h papers have at least h citations each. Papers with no
known count are left out (they are not counted as zero); ``h_index_from`` says
how many counts it used, so a profile can show "computed from 12 of 45 papers".
"""

from __future__ import annotations

from collections.abc import Iterable


def h_index(citations: Iterable[int | None]) -> int:
    counts = sorted((c for c in citations if c is not None), reverse=True)
    h = 0
    for rank, count in enumerate(counts, start=1):
        if count < rank:
            break
        h = rank
    return h


def h_index_from(citations: Iterable[int | None]) -> tuple[int | None, int]:
    """(h-index or None when no paper has a count, how many papers had a count)."""
    known = [c for c in citations if c is not None]
    return (h_index(known) if known else None), len(known)
