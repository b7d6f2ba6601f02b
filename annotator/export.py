"""Export papers with their judgments as JSONL (one paper a line) or CSV.

Each judgment carries ``fitted_ai_score``/``fitted_novelty`` beside the raw scores: the
0-100 scores of a head fitted for its prompt version and model (``annotator eval fit``;
for ``embedding-head`` judgments, their own scores), or None without a head.

An export to a file is written under a temporary name beside it and renamed over it
when complete (:func:`atomic_output`). Killed halfway (Ctrl-C, ``kill -9``, a full
disk), the target keeps its previous content or stays absent: a truncated JSONL would
look like a smaller valid export. Only a ``kill -9`` leaves the temporary file
(``.NAME.<pid>.tmp``) behind. Two exports to one file at once each write their own
temporary file; the last rename wins and the file is always one whole export. The
export reads the database in chunks, not in one snapshot, so papers judged while it
runs may or may not be in it.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from typing import TextIO

from sqlalchemy.engine import Engine

from annotator.db.queries import papers as P
from annotator.db.queries.bibliometrics import latest_author_h_index, latest_paper_citations
from annotator.files import atomic_output
from annotator.heads.apply import fitted_scores

__all__ = ["atomic_output", "iter_papers", "write_csv", "write_jsonl", "safe_cell"]

CSV_FIELDS = [
    "id",
    "key",
    "title",
    "abstract",
    "authors",
    "categories",
    "published",
    "has_code",
    "affiliations",
    "citations",
    "first_author_h_index",
    "prompt",
    "prompt_version",
    "prompt_hash",
    "model",
    "ai_score",
    "novelty",
    "rationale",
    "judged_at",
    "fitted_ai_score",
    "fitted_novelty",
    "method",
    "ai_score_spread",
    "novelty_spread",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet will show as text, never run as a formula."""
    if value is None:
        return ""
    value = str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def iter_papers(
    engine: Engine, *, include_eval: bool = False, prompt: str | None = None, model: str | None = None
) -> Iterator[dict]:
    """Papers as dicts in the export schema, in id order."""
    with engine.connect() as conn:
        ids = P.paper_ids(conn, include_eval)
        for chunk in _chunks(ids):
            yield from _load_chunk(conn, chunk, prompt, model)


def _load_chunk(conn, ids: list[int], prompt: str | None, model: str | None) -> Iterator[dict]:
    authors, affs, judgments = defaultdict(list), defaultdict(list), defaultdict(list)
    h_index: dict[int, int] = {}
    for pid, name, aid in P.paper_authors(conn, ids):
        authors[pid].append(name)
        if len(authors[pid]) == 1:
            h_index[pid] = aid
    for pid, name in P.paper_affiliations(conn, ids):
        affs[pid].append(name)
    # the snapshot that counts is the newest by date (then the last stored), as in profiles
    citations = latest_paper_citations(conn, ids)
    author_h = latest_author_h_index(conn, sorted(set(h_index.values())))
    fitted: dict[tuple[int, str], dict] = {}
    for r in P.judgments_of_papers(conn, ids, prompt, model):
        key = (r[10], r[4])
        if key not in fitted:  # one head per prompt version and model
            fitted[key] = fitted_scores(conn.engine, r[10], r[4], ids)
        fit_ai, fit_nov = fitted[key].get(r[0], (None, None))
        judgments[r[0]].append(
            {
                "prompt": r[1],
                "prompt_version": r[2],
                "prompt_hash": r[3],
                "model": r[4],
                "ai_score": r[5],
                "novelty": r[6],
                "rationale": r[7],
                "created_at": str(r[8]),
                "demo_quality": bool(r[9]),
                "fitted_ai_score": fit_ai,
                "fitted_novelty": fit_nov,
                # how the judgment was made (direct, expected, pairwise, embedding-head) and what
                # the method kept: spreads of samples, distributions, sub-scores, anchors
                "method": r[11],
                "ai_score_spread": r[12],
                "novelty_spread": r[13],
                "details": json.loads(r[14]) if r[14] else None,
            }
        )
    for row in P.papers_by_id(conn, ids):
        pid = row["id"]
        yield {
            "id": pid,
            "key": row["key"],
            "title": row["title"],
            "abstract": row["abstract"],
            "authors": authors[pid],
            "authors_truncated": bool(row["authors_truncated"]),
            "category": row["category"],
            "categories": json.loads(row["categories"] or "[]"),
            "published": str(row["published"]) if row["published"] else None,
            "has_code": None if row["has_code"] is None else bool(row["has_code"]),
            "affiliations": affs[pid],
            "citations": citations.get(pid),
            "first_author_h_index": author_h.get(h_index[pid]) if pid in h_index else None,
            "judgments": judgments[pid],
        }


def write_jsonl(papers: Iterator[dict], out: TextIO) -> int:
    n = 0
    for paper in papers:
        out.write(json.dumps(paper, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(papers: Iterator[dict], out: TextIO) -> int:
    """One row per judgment (a paper with none gets one row with empty scores)."""
    w = csv.writer(out)
    w.writerow(CSV_FIELDS)
    n = 0
    for p in papers:
        base = [
            p["id"],
            p["key"],
            p["title"],
            p["abstract"],
            "; ".join(p["authors"]),
            "; ".join(p["categories"]),
            p["published"],
            p["has_code"],
            "; ".join(p["affiliations"]),
            p["citations"],
            p["first_author_h_index"],
        ]
        for j in p["judgments"] or [None]:
            extra = (
                [
                    j["prompt"],
                    j["prompt_version"],
                    j["prompt_hash"],
                    j["model"],
                    j["ai_score"],
                    j["novelty"],
                    j["rationale"],
                    j["created_at"],
                    j["fitted_ai_score"],
                    j["fitted_novelty"],
                    j["method"],
                    j["ai_score_spread"],
                    j["novelty_spread"],
                ]
                if j
                else [None] * 13
            )
            w.writerow([safe_cell(v) for v in base + extra])
        n += 1
    return n
