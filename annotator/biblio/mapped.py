"""Scores mapped beyond the raw ones, for profiles and leaderboards.

- calibrated means: the raw mean mapped to an eval suite's label scale by the isotonic
  maps an eval run stored (``calibrations``);
- fitted scores: what a head fitted by ``annotator eval fit`` on the judgments' features
  gives each paper (0-100, a percentile of the labelled papers it was fitted on).

Both need numpy or scikit-learn, so they are imported only when there is something to map.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from annotator.biblio.profile_models import CalibratedMean, FittedMean
from annotator.biblio.selection import JudgmentSet
from annotator.db.queries.bibliometrics import calibration_maps, has_judgment_head

Fitted = dict[int, tuple[float | None, float | None]]


def _r(value: float, digits: int = 2) -> float:
    return round(value, digits)


def calibrated_means(
    conn: Connection, jset: JudgmentSet | None, ai: list[int], nov: list[int]
) -> dict[str, CalibratedMean]:
    """Mean scores mapped to each eval suite's label scale by the stored isotonic maps."""
    if jset is None or jset.model is None or not ai:
        return {}
    from annotator.evaluation.calibration import CalibrationMap, apply

    out = {}
    for suite, label, key, lo, hi, map_json in calibration_maps(conn, jset.prompt_version_id, jset.model):
        values = ai if key == "ai_score" else nov
        mapped = apply(CalibrationMap.from_json(map_json), values)
        out[f"{suite}.{label}"] = CalibratedMean(
            value=_r(statistics.fmean(float(v) for v in mapped)), scale=[lo, hi], of=key
        )
    return out


def fitted_by_paper(conn: Connection, jset: JudgmentSet | None, paper_ids: Sequence[int]) -> Fitted:
    """Paper id -> (fitted AI score, fitted novelty) from the newest head fitted on this
    prompt version's and model's judgment features; empty without one. (Judgments of the
    embedding judge come from a head already: their raw score is the fitted one.)"""
    if jset is None or jset.model is None or not paper_ids:
        return {}
    if not has_judgment_head(conn, jset.prompt_version_id, jset.model):
        return {}
    from annotator.heads.apply import fitted_scores

    return fitted_scores(conn.engine, jset.prompt_version_id, jset.model, list(paper_ids))


def fitted_mean(fitted: Fitted, paper_ids: Sequence[int]) -> FittedMean | None:
    """The mean fitted scores over these papers (those a head could score)."""
    values = [fitted[p] for p in paper_ids if p in fitted]
    ai = [v[0] for v in values if v[0] is not None]
    nov = [v[1] for v in values if v[1] is not None]
    if not values:
        return None
    return FittedMean(
        ai_score=_r(statistics.fmean(ai)) if ai else None,
        novelty=_r(statistics.fmean(nov)) if nov else None,
        n=len(values),
    )
