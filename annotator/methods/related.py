"""``$related``: the K earlier papers in the database most similar to a paper (TF-IDF).

Context for the model when it judges novelty, not a score: similarity to
earlier work says little about novelty on its own. The index is built once per
run over every paper in the database (title and abstract); "earlier" means
published before the paper when both have a date, else stored before it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine

from annotator.db.queries import papers
from annotator.injection.detect import fence

NONE_FOUND = "(no earlier papers in the collection)"


@dataclass(frozen=True)
class _Row:
    id: int
    title: str
    abstract: str
    published: date | None


class RelatedIndex:
    """TF-IDF over the database's papers, built on first use."""

    vectorizer: Any
    matrix: Any

    def __init__(self, engine: Engine | None, k: int, excerpt_chars: int):
        self.engine, self.k, self.excerpt_chars = engine, k, excerpt_chars
        self._lock = threading.Lock()
        self._built = False
        self.rows: list[_Row] = []
        self._by_id: dict[int, int] = {}

    def build(self) -> None:
        with self._lock:
            if self._built:
                return
            if self.engine is not None:
                with self.engine.connect() as conn:
                    found = papers.all_paper_texts(conn)
                self.rows = [_Row(r[0], r[1], r[2], _as_date(r[3])) for r in found]
            self._by_id = {r.id: i for i, r in enumerate(self.rows)}
            if self.rows:
                # scikit-learn takes about a second to import: only runs that use $related pay it
                from sklearn.feature_extraction.text import TfidfVectorizer

                self.vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english")
                self.matrix = self.vectorizer.fit_transform(f"{r.title}. {r.abstract}" for r in self.rows)
            self._built = True

    def similar(self, paper_id: int | None, title: str, abstract: str) -> list[tuple[_Row, float]]:
        """The K most similar earlier papers with their cosine similarity, most similar first."""
        self.build()
        if not self.rows:
            return []
        query = self.vectorizer.transform([f"{title}. {abstract}"])
        sims = np.asarray((self.matrix @ query.T).todense()).ravel()
        at = self._by_id.get(paper_id) if paper_id is not None else None
        me = self.rows[at] if at is not None else None
        keep = np.array([_earlier(r, me, paper_id) for r in self.rows])
        sims = np.where(keep, sims, -1.0)
        order = np.argsort(-sims, kind="stable")[: self.k]
        return [(self.rows[i], float(sims[i])) for i in order if sims[i] > 0]

    def text_for(self, paper_id: int | None, title: str, abstract: str) -> str:
        found = self.similar(paper_id, title, abstract)
        if not found:
            return NONE_FOUND
        parts = []
        for n, (row, _) in enumerate(found, start=1):
            excerpt = row.abstract[: self.excerpt_chars].rsplit(" ", 1)[0]
            if len(row.abstract) > self.excerpt_chars:
                excerpt += " ..."
            year = row.published.year if row.published else "year unknown"
            parts.append(f"{n}. <paper>{fence(row.title)} ({year}): {fence(excerpt)}</paper>")
        return "\n".join(parts)


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _earlier(row: _Row, me: _Row | None, paper_id: int | None) -> bool:
    if paper_id is not None and row.id == paper_id:
        return False
    if me is not None and me.published is not None and row.published is not None:
        return row.published < me.published
    return paper_id is None or row.id < paper_id
