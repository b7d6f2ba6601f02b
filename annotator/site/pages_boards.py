"""Leaderboards, as ``annotator authors top`` gives them: authors and affiliations by mean
AI score, mean novelty, h-index and citations, one page per minimum-paper filter."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from annotator.biblio.profiles import BOARDS, GROUPS, leaderboard
from annotator.site.render import SiteWriter

MIN_PAPERS = (1, 3, 10)
LIMIT = 25
TITLES = {"ai_score": "AI score", "novelty": "Novelty", "h_index": "h-index", "citations": "Citations"}


def write_boards(engine: Engine, site: SiteWriter, author_pages: set[int], limit: int = LIMIT) -> None:
    """The boards over the default judgment set (as ``authors top`` without --prompt)."""
    for minimum in MIN_PAPERS:
        boards = [
            (group, by, leaderboard(engine, by, min_papers=minimum, limit=limit, group=group))
            for group in GROUPS
            for by in BOARDS
        ]
        site.page(
            f"boards/min-{minimum}.html",
            "boards.html",
            boards=boards,
            minimum=minimum,
            minimums=MIN_PAPERS,
            titles=TITLES,
            author_pages=author_pages,
        )
