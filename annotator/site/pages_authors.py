"""Author pages, modelled on the paper feed's: the profile header, tag counts, every paper.

The figures come from ``biblio.profiles.author_profile`` (what ``annotator authors
show`` prints); this module adds what a page shows beyond the terminal table:
abstracts, links, rationales and the prompt version and model of each score.
Pages are written only for authors with at least ``min_papers`` papers.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from annotator.biblio import snapshots as S
from annotator.biblio.profiles import author_profile
from annotator.biblio.selection import JudgmentSet
from annotator.site.pages_papers import authors_line
from annotator.site.render import SiteWriter, author_path, paper_link

# each author-paper pair once, eval papers left out
_PAIRS = ("SELECT x.author_id, COUNT(DISTINCT x.paper_id) AS n FROM (SELECT author_id, paper_id "
          "FROM authorships UNION ALL SELECT author_id, paper_id FROM author_papers) x "
          "WHERE x.paper_id NOT IN (SELECT id FROM papers WHERE is_eval = :t) "
          "GROUP BY x.author_id HAVING COUNT(DISTINCT x.paper_id) >= :min")


def authors_with_pages(engine: Engine, min_papers: int) -> list[tuple[int, str, int]]:
    """(author id, name, papers) of the authors who get a page, most papers first."""
    with engine.connect() as conn:
        counts = conn.execute(text(_PAIRS), {"t": True, "min": max(1, min_papers)}).all()
        names: dict[int, str] = {}
        ids = [r[0] for r in counts]
        for start in range(0, len(ids), 5000):
            names.update(conn.execute(S.with_lists(
                "SELECT id, name FROM authors WHERE id IN :ids", "ids"),
                {"ids": ids[start:start + 5000]}).all())
    return sorted(((aid, names[aid], n) for aid, n in counts), key=lambda r: (-r[2], r[1], r[0]))


def _details(conn: Connection, paper_ids: list[int], jset: JudgmentSet | None) -> dict[int, dict]:
    """Abstract, arXiv/DOI link and the chosen judgment's rationale of each paper."""
    out: dict[int, dict] = {}
    for pid, key, abstract in conn.execute(S.with_lists(
            "SELECT id, key, abstract FROM papers WHERE id IN :ids", "ids"), {"ids": paper_ids}):
        link = paper_link(key)
        out[pid] = {"abstract": abstract, "rationale": None, "link": link,
                    "link_label": "arXiv" if link and "arxiv.org" in link else "DOI"}
    if jset is not None and jset.model is not None:
        for pid, rationale in conn.execute(S.with_lists(
                "SELECT paper_id, rationale FROM judgments WHERE prompt_version_id = :pv "
                "AND model = :m AND paper_id IN :ids", "ids"),
                {"pv": jset.prompt_version_id, "m": jset.model, "ids": paper_ids}):
            out[pid]["rationale"] = rationale
    return out


def write_author_pages(engine: Engine, site: SiteWriter, authors: list[tuple[int, str, int]],
                       jset: JudgmentSet | None) -> list[dict]:
    """One page per author; returns the rows of the author index."""
    index = []
    for aid, _, _ in authors:
        profile = author_profile(engine, f"#{aid}")
        with engine.connect() as conn:
            details = _details(conn, [p.id for p in profile.paper_list], jset)
        papers = [{"p": p, "authors": authors_line(p.authors, p.authors_truncated),
                   **details.get(p.id, {"abstract": "", "rationale": None, "link": None})}
                  for p in profile.paper_list]
        cats = Counter(p.category for p in profile.paper_list if p.category).most_common()
        affs = Counter(a for p in profile.paper_list for a in p.affiliations).most_common()
        site.page(author_path(aid), "author.html", profile=profile, papers=papers,
                  categories=cats, affiliations=affs)
        index.append({"id": aid, "name": profile.name, "category": profile.primary_category,
                      "papers": profile.papers, "stored": profile.papers_stored,
                      "h_index": profile.h_index, "citations": profile.citations,
                      "ai_score": profile.ai_score, "novelty": profile.novelty,
                      "n_judged": profile.n_judged})
    site.page("authors/index.html", "authors.html", rows=index)
    return index
