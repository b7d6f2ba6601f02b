"""The paper list (newest first, paged, one list per category too) and one page per paper.

Papers are read in id order in chunks by ``export.iter_papers`` (the export's own
shape: authors, affiliations, citations, every judgment), so memory holds one
chunk of full papers plus one small row per paper for the lists.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from annotator.biblio.selection import JudgmentSet
from annotator.export import iter_papers
from annotator.site.render import SiteWriter, category_slug, paper_path


@dataclass(frozen=True)
class ListRow:
    """What a list shows of one paper (kept for every paper while the site is built)."""

    id: int
    published: str
    category: str
    has_code: bool
    title: str
    authors: str
    affiliations: str
    ai_score: int | None
    novelty: int | None
    key: str


def authors_line(authors: list[str], truncated: bool, shown: int = 3) -> str:
    """``A, B, C et al.``: at most ``shown`` names, as the feed prints them."""
    more = truncated or len(authors) > shown
    return ", ".join(authors[:shown]) + (" et al." if more else "")


def chosen(judgments: list[dict], jset: JudgmentSet | None) -> dict | None:
    """The paper's judgment under the judgment set the lists and profiles average."""
    if jset is None:
        return None
    name, _, version = jset.prompt.partition("@")
    for j in judgments:
        if j["prompt"] == name and str(j["prompt_version"]) == version and j["model"] == jset.model:
            return j
    return None


def write_paper_pages(engine: Engine, site: SiteWriter, jset: JudgmentSet | None,
                      author_pages: dict[str, int]) -> list[ListRow]:
    """One page per paper with all its judgments; returns the rows for the lists.

    ``author_pages`` maps author names to the id of their page, for links.
    """
    rows: list[ListRow] = []
    for paper in iter_papers(engine):
        pick = chosen(paper["judgments"], jset)
        judgments = sorted(paper["judgments"], key=lambda j: (
            j["prompt"], _version_key(j["prompt_version"]), j["model"]))
        site.page(paper_path(paper["id"]), "paper.html", paper=paper, judgments=judgments,
                  chosen=pick, author_pages=author_pages,
                  authors_line=authors_line(paper["authors"], paper["authors_truncated"], 100))
        rows.append(ListRow(
            id=paper["id"], published=paper["published"] or "", category=paper["category"] or "",
            has_code=bool(paper["has_code"]), title=paper["title"],
            authors=authors_line(paper["authors"], paper["authors_truncated"]),
            affiliations=", ".join(paper["affiliations"]),
            ai_score=pick["ai_score"] if pick else None, novelty=pick["novelty"] if pick else None,
            key=paper["key"]))
    return rows


def _version_key(version: object) -> tuple:
    v = str(version).lstrip("v")
    return (0, int(v), "") if v.isdigit() else (1, 0, v)


def write_lists(site: SiteWriter, rows: list[ListRow], page_size: int) -> dict[str, int]:
    """Paged lists, newest first: every paper, then each category's. Returns the categories
    with their paper counts."""
    rows = sorted(rows, key=lambda r: (r.published, r.id), reverse=True)
    by_category: dict[str, list[ListRow]] = defaultdict(list)
    for r in rows:
        if r.category:
            by_category[r.category].append(r)
    categories = sorted(by_category)
    _paged(site, "all", "All papers", rows, page_size, categories)
    for cat in categories:
        _paged(site, category_slug(cat), f"{cat} papers", by_category[cat], page_size, categories)
    return {cat: len(by_category[cat]) for cat in categories}


def _paged(site: SiteWriter, slug: str, title: str, rows: list[ListRow], page_size: int,
           categories: list[str]) -> None:
    pages = max(1, -(-len(rows) // page_size))
    for n in range(1, pages + 1):
        chunk = rows[(n - 1) * page_size:n * page_size]
        site.page(f"papers/{slug}-{n}.html", "papers.html", title=title, slug=slug, rows=chunk,
                  page=n, pages=pages, total=len(rows), first=(n - 1) * page_size + 1,
                  categories=categories)
