"""Author pages, modelled on the paper feed's: the profile header, tag counts, every paper.

The figures come from ``biblio.profiles.author_profile`` (what ``annotator authors
show`` prints); this module adds what a page shows beyond the terminal table:
abstracts, links, rationales and the prompt version and model of each score.
Pages are written only for authors with at least ``min_papers`` papers.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy.engine import Connection, Engine

from annotator.biblio.profiles import author_profile
from annotator.biblio.selection import JudgmentSet
from annotator.db.queries import papers as P
from annotator.site.pages_papers import authors_line
from annotator.site.render import SiteWriter, author_path, paper_link


def authors_with_pages(engine: Engine, min_papers: int) -> list[tuple[int, str, int]]:
    """(author id, name, papers) of the authors who get a page, most papers first."""
    with engine.connect() as conn:
        counts = P.authors_with_papers(conn, max(1, min_papers))
        names: dict[int, str] = {}
        ids = [r[0] for r in counts]
        for start in range(0, len(ids), 5000):
            names.update(P.author_names(conn, ids[start : start + 5000]))
    return sorted(((aid, names[aid], n) for aid, n in counts), key=lambda r: (-r[2], r[1], r[0]))


def _details(conn: Connection, paper_ids: list[int], jset: JudgmentSet | None) -> dict[int, dict]:
    """Abstract, arXiv/DOI link and the chosen judgment's rationale of each paper."""
    out: dict[int, dict] = {}
    for pid, key, abstract in P.paper_abstracts(conn, paper_ids):
        link = paper_link(key)
        out[pid] = {
            "abstract": abstract,
            "rationale": None,
            "link": link,
            "link_label": "arXiv" if link and "arxiv.org" in link else "DOI",
        }
    if jset is not None and jset.model is not None:
        rationales = P.judged_column(conn, "rationale", jset.prompt_version_id, jset.model, paper_ids)
        for pid, rationale in rationales.items():
            out[pid]["rationale"] = rationale
    return out


def write_author_pages(
    engine: Engine, site: SiteWriter, authors: list[tuple[int, str, int]], jset: JudgmentSet | None
) -> list[dict]:
    """One page per author; returns the rows of the author index."""
    index = []
    for aid, _, _ in authors:
        profile = author_profile(engine, f"#{aid}")
        with engine.connect() as conn:
            details = _details(conn, [p.id for p in profile.paper_list], jset)
        papers = [
            {
                "p": p,
                "authors": authors_line(p.authors, p.authors_truncated),
                **details.get(p.id, {"abstract": "", "rationale": None, "link": None}),
            }
            for p in profile.paper_list
        ]
        cats = Counter(p.category for p in profile.paper_list if p.category).most_common()
        affs = Counter(a for p in profile.paper_list for a in p.affiliations).most_common()
        site.page(author_path(aid), "author.html", profile=profile, papers=papers, categories=cats, affiliations=affs)
        index.append(
            {
                "id": aid,
                "name": profile.name,
                "category": profile.primary_category,
                "papers": profile.papers,
                "stored": profile.papers_stored,
                "h_index": profile.h_index,
                "citations": profile.citations,
                "ai_score": profile.ai_score,
                "novelty": profile.novelty,
                "n_judged": profile.n_judged,
            }
        )
    site.page("authors/index.html", "authors.html", rows=index)
    return index
