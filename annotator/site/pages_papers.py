"""The paper list (newest first, paged, one list per category too) and one page per paper.

Papers are read in id order in chunks by ``export.iter_papers`` (the export's own
shape: authors, affiliations, citations, every judgment), so memory holds one
chunk of full papers plus one small row per paper for the lists. A paper page links each
author by id (names are not unique); list pages are named so that none can overwrite
another (``render.list_slugs``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from annotator.biblio.selection import JudgmentSet
from annotator.db.queries.papers import paper_authors
from annotator.export import iter_papers
from annotator.prompts.registry import version_key
from annotator.site.render import ALL_LIST, SiteWriter, list_slugs, paper_path

CHUNK = 500  # papers whose authors are read in one query


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


def _people(engine: Engine, paper_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """Each paper's authors in order as (name, author id): names are not unique (two
    authors called Wei Wang are two rows of ``authors``), so links go by id."""
    out: dict[int, list[tuple[str, int]]] = defaultdict(list)
    with engine.connect() as conn:
        for pid, name, aid in paper_authors(conn, paper_ids):
            out[pid].append((name, aid))
    return out


def _in_chunks(papers: Iterator[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for paper in papers:
        chunk.append(paper)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_paper_pages(
    engine: Engine, site: SiteWriter, jset: JudgmentSet | None, author_pages: set[int]
) -> list[ListRow]:
    """One page per paper with all its judgments; returns the rows for the lists.

    ``author_pages``: ids of the authors with a page; their names on a paper link to it.
    """
    rows: list[ListRow] = []
    for chunk in _in_chunks(iter_papers(engine)):
        people = _people(engine, [p["id"] for p in chunk])
        for paper in chunk:
            rows.append(_paper_page(site, paper, people[paper["id"]], jset, author_pages))
    return rows


def _paper_page(
    site: SiteWriter, paper: dict, people: list[tuple[str, int]], jset: JudgmentSet | None, author_pages: set[int]
) -> ListRow:
    pick = chosen(paper["judgments"], jset)
    judgments = sorted(paper["judgments"], key=lambda j: (j["prompt"], version_key(j["prompt_version"]), j["model"]))
    site.page(
        paper_path(paper["id"]),
        "paper.html",
        paper=paper,
        judgments=judgments,
        chosen=pick,
        people=people,
        author_pages=author_pages,
    )
    return ListRow(
        id=paper["id"],
        published=paper["published"] or "",
        category=paper["category"] or "",
        has_code=bool(paper["has_code"]),
        title=paper["title"],
        authors=authors_line(paper["authors"], paper["authors_truncated"]),
        affiliations=", ".join(paper["affiliations"]),
        ai_score=pick["ai_score"] if pick else None,
        novelty=pick["novelty"] if pick else None,
        key=paper["key"],
    )


def write_lists(site: SiteWriter, rows: list[ListRow], page_size: int) -> dict[str, tuple[str, int]]:
    """Paged lists, newest first: every paper (``papers/all-N.html``), then each category's
    (``papers/<list slug>-N.html``, see ``render.list_slugs``). Returns each category's list
    slug and paper count."""
    rows = sorted(rows, key=lambda r: (r.published, r.id), reverse=True)
    by_category: dict[str, list[ListRow]] = defaultdict(list)
    for r in rows:
        if r.category:
            by_category[r.category].append(r)
    slugs = list_slugs(sorted(by_category))
    _paged(site, ALL_LIST, "All papers", rows, page_size, slugs)
    for cat, slug in slugs.items():
        _paged(site, slug, f"{cat} papers", by_category[cat], page_size, slugs)
    return {cat: (slug, len(by_category[cat])) for cat, slug in slugs.items()}


def _paged(site: SiteWriter, slug: str, title: str, rows: list[ListRow], page_size: int, slugs: dict[str, str]) -> None:
    pages = max(1, -(-len(rows) // page_size))
    for n in range(1, pages + 1):
        chunk = rows[(n - 1) * page_size : n * page_size]
        site.page(
            f"papers/{slug}-{n}.html",
            "papers.html",
            title=title,
            slug=slug,
            rows=chunk,
            page=n,
            pages=pages,
            total=len(rows),
            first=(n - 1) * page_size + 1,
            slugs=slugs,
        )
