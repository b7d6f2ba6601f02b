"""The profile benchmark's synthetic database, small: leaderboards checked against plain Python."""

from __future__ import annotations

import importlib.util
import statistics
from collections import defaultdict
from pathlib import Path

from sqlalchemy import text

from annotator.biblio.hindex import h_index
from annotator.biblio.profiles import author_profile, leaderboard
from annotator.db import open_db

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_profiles.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_profiles", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_database_and_leaderboards_agree_with_python(tmp_path):
    info = _bench().build(tmp_path / "b.db", 3000, abstract_chars=50)
    assert info["papers"] == 3000 and info["authors"] == 600 and info["prolific_n"] > info["median_n"]
    engine = open_db(str(tmp_path / "b.db"))
    board = leaderboard(engine, "ai_score", min_papers=5, limit=20)
    assert board.judgments is not None  # the database holds two models' judgments: one is chosen
    with engine.connect() as conn:
        evals = {r[0] for r in conn.execute(text("SELECT id FROM papers WHERE is_eval"))}
        pairs = {(a, p) for a, p in conn.execute(text("SELECT author_id, paper_id FROM authorships"))}
        pairs |= {(a, p) for a, p in conn.execute(text("SELECT author_id, paper_id FROM author_papers"))}
        score = {
            p: ai
            for p, ai in conn.execute(
                text("SELECT paper_id, ai_score FROM judgments WHERE model = :m"), {"m": board.judgments.model}
            )
        }
        cites = dict(conn.execute(text("SELECT paper_id, citations FROM paper_metrics")).all())
    per_author = defaultdict(list)
    for a, p in pairs:
        if p not in evals and p in score:
            per_author[a].append(score[p])
    ranked = sorted(((statistics.fmean(v), len(v), -a) for a, v in per_author.items() if len(v) >= 5), reverse=True)[
        :20
    ]
    rows = board.rows
    assert [(r.ai_score, r.n_judged, r.author_id) for r in rows] == [(round(m, 2), n, -a) for m, n, a in ranked]
    prolific = author_profile(engine, f"#{info['prolific']}")
    mine = [p for a, p in pairs if a == info["prolific"] and p not in evals]
    assert prolific.papers_stored == len(mine)
    assert prolific.ai_score == round(statistics.fmean(score[p] for p in mine), 2)
    assert prolific.h_index_computed == h_index(cites[p] for p in mine)
    assert (
        leaderboard(engine, "h_index", limit=5).rows[0].h_index
        >= leaderboard(engine, "h_index", limit=5).rows[-1].h_index
    )
