"""Every labelled paper a shipped head is fitted on, with targets scaled per venue-year.

The papers: the full data files of the ``iclr2022``, ``iclr2017_2018`` and ``neurips2023``
suites, and every ICLR 2026 submission of ``evals/data/iclr2026_initial_reviews.jsonl.gz``
(the ``iclr2026`` suite's file is a sample of it). That file is repository-only training
data: it is not in the wheel, so heads are fitted in a clone.

Targets. The suites rate on different scales (1-10, 0-10 with even steps only) and their
reviewers are harsher or kinder by year, so a head fitted on raw ratings learns the year
as much as the paper. Each label is therefore turned into its percentile among the papers
of the same venue and year (0-100, ties share their mean rank): "how this paper ranked
among its venue's submissions". A head predicts that rank.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from annotator.errors import InputError
from annotator.evaluation.items import load_items
from annotator.evaluation.suite_types import EvalItem
from annotator.evaluation.suites import evaldata_dir, load_suite

SUITE_NAMES = ("iclr2022", "iclr2017_2018", "neurips2023", "iclr2026")
ICLR2026_ALL = "iclr2026_initial_reviews.jsonl.gz"


@dataclass(frozen=True)
class Labelled:
    """The papers in a fixed order (sorted by id) with their suite and venue-year."""

    items: list[EvalItem]
    suite: np.ndarray  # suite name per paper
    group: np.ndarray  # "<venue> <year>" per paper

    @property
    def ids(self) -> list[str]:
        return [it.id for it in self.items]

    def targets(self) -> dict[str, np.ndarray]:
        """``ai`` and ``novelty`` as percentiles within each venue-year (NaN: no label)."""
        raw = {
            "ai": np.array([_num(it.gold_ai) for it in self.items]),
            "novelty": np.array([_num(it.gold_novelty) for it in self.items]),
        }
        return {name: percentiles(y, self.group) for name, y in raw.items()}


def _num(value: float | None) -> float:
    return np.nan if value is None else float(value)


def percentiles(y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Each finite value's mid-rank percentile (0-100) among the finite values of its group."""
    out = np.full(len(y), np.nan)
    for g in sorted(set(group.tolist())):
        rows = np.where((group == g) & np.isfinite(y))[0]
        if len(rows):
            out[rows] = (rankdata(y[rows]) - 0.5) / len(rows) * 100.0
    return out


def _gz_items(path: Path) -> list[EvalItem]:
    items = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                items.append(
                    EvalItem(
                        id=row["id"],
                        title=row.get("title") or "",
                        abstract=row["abstract"],
                        gold_ai=row.get("rating_mean"),
                        gold_novelty=row.get("contribution_mean"),
                        ai_reviewers=tuple(row.get("rating_list") or ()),
                        novelty_reviewers=tuple(row.get("contribution_list") or ()),
                        venue=row.get("venue"),
                        year=row.get("year"),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"not a labelled paper: {exc}", path=str(path), line=lineno) from None
    return items


def load_labelled(names: Sequence[str] = SUITE_NAMES) -> Labelled:
    """Every labelled paper of the named suites (``iclr2026``: the whole gzipped file)."""
    folder = evaldata_dir()
    by_id: dict[str, tuple[EvalItem, str]] = {}
    for name in names:
        if name == "iclr2026":
            path = folder / ICLR2026_ALL
            if not path.is_file():
                raise InputError("the ICLR 2026 training data is repository-only: fit heads in a clone", path=str(path))
            rows = _gz_items(path)
        else:
            rows = load_items(load_suite(folder.parent / f"{name}.toml"), sample=False)
        for it in rows:
            by_id.setdefault(it.id, (it, name))
    ordered = sorted(by_id)
    items = [by_id[i][0] for i in ordered]
    return Labelled(
        items, np.array([by_id[i][1] for i in ordered]), np.array([f"{it.venue} {it.year}" for it in items])
    )
