"""Re-fitting a tournament: every judgment of a prompt version and model, from the stored calls.

``refit`` rebuilds the board from ``llm_calls`` (no model is asked anything), fits all
items at once and rewrites each judgment's scores, rationale and ``details_json``
(the paper's own comparisons are kept; ``fit`` says which fit the scores come from:
``kind: refit``, the number of comparisons and an id that names them). It runs at the
end of every tournament run and by hand (``annotator annotate --refit``); it costs one
fit, seconds for thousands of papers.

Rewriting stored scores is what a tournament means (a paper's strength depends on
comparisons made after it was judged), and the leaderboards' aggregates add judgments
by id: the re-fit therefore marks them stale (``db.derived.bump_links``) in the same
transaction, so the next board rebuilds them from the new scores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from annotator.db.derived import bump_links
from annotator.db.engine import writer
from annotator.db.queries import judgments
from annotator.errors import ConfigError
from annotator.methods.anchors import load_anchors
from annotator.methods.sampling import round_half_up
from annotator.methods.tournament_board import TARGETS, load_board, paper_item, prompt_version_id
from annotator.prompts.files import Prompt


@dataclass(frozen=True)
class RefitReport:
    judgments: int  # judgments rewritten
    comparisons: int  # comparisons the fit is made of
    fit_id: str
    position_bias: float  # the order effect on quality, in logits


def rationale(details: dict) -> str:
    n = details["comparisons"]
    wins = details["wins"]
    return (
        f"Preferred in {wins['ai_score']} of {n} comparisons for quality and {wins['novelty']} of "
        f"{n} for novelty, against papers of this prompt version and anchors of "
        f"{details['suite']}, placed by a Bradley-Terry fit of {details['fit']['comparisons']} "
        "comparisons."
    )


def refit(engine: Engine, prompt: Prompt, model: str) -> RefitReport:
    """Fit every stored comparison of ``prompt`` and ``model``; rewrite their judgments."""
    if prompt.meta.method != "tournament" or prompt.meta.anchors is None:
        raise ConfigError(
            f"{prompt.ref} is not a tournament prompt version (method "
            f"'{prompt.meta.method}'); only tournaments are re-fitted"
        )
    pv = prompt_version_id(engine, prompt.name, prompt.version)
    board = load_board(engine, load_anchors(prompt.meta.anchors), pv, model)
    if pv is None or not board.matches:
        return RefitReport(0, 0, board.fit_id(), 0.0)
    fits = board.fit(errors=True)
    fit_info = {"kind": "refit", "comparisons": len(board.matches), "id": board.fit_id()}
    with engine.connect() as conn:
        stored = judgments.judgment_details(conn, pv, model)
    updates = []
    for jid, paper_id, details_json in stored:
        item = paper_item(paper_id)
        fit_of = {t: fits[t] for t in TARGETS}
        if item not in fit_of["ai_score"].strength:
            continue  # no comparison stored for it (cannot happen for a tournament judgment)
        strengths = {t: (f.strength[item], f.se[item]) for t, f in fit_of.items()}
        old = (json.loads(details_json) if details_json else {}).get("tournament", {})
        details = board.summary(item, strengths)
        details["fit"] = fit_info
        details["own"] = old.get("own", [m.as_json() for m in board.owned(paper_id)])
        updates.append(
            {
                "id": jid,
                **{t: round_half_up(board.percent(strengths[t][0], t)) for t in TARGETS},
                "rationale": rationale(details),
                "details": json.dumps({"tournament": details}, sort_keys=True),
            }
        )
    with writer(engine).begin() as conn:
        judgments.rewrite_judgment_scores(conn, updates)
        bump_links(conn)
    return RefitReport(len(updates), len(board.matches), board.fit_id(), fits["ai_score"].gamma)
