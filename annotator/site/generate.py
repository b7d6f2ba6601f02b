"""``build_site``: the whole static site from one database, in one pass per page type.

Layout (every link relative, so the folder works from the file system or any host):

    index.html                 overview
    papers/all-N.html          every paper, newest first, ``page_size`` a page
    papers/<CAT>-<hash>-N.html one category's papers, paged the same way (``render.list_slugs``)
    paper/<id // 1000>/<id>.html  one page per paper: every judgment, all versions and models
    authors/index.html, authors/<id>.html   authors with >= ``min_author_papers`` papers
    boards/min-<K>.html        leaderboards (authors, affiliations) for K = 1, 3, 10 papers
    prompts/...                versions, diffs, comparisons
    evals/...                  eval runs and metric history
    static/site.css, site.js
    .annotator-site            the marker: this folder is a site that the next build may replace

Paper pages link authors by id, never by name. The whole site is written into a fresh
folder and swapped in when complete (``publish``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from annotator.biblio.selection import resolve
from annotator.errors import InputError
from annotator.prompts.registry import hashes as prompt_hashes
from annotator.provenance import code_version
from annotator.redact import redact_url
from annotator.site.pages_authors import authors_with_pages, write_author_pages
from annotator.site.pages_boards import write_boards
from annotator.site.pages_evals import write_eval_pages
from annotator.site.pages_papers import write_lists, write_paper_pages
from annotator.site.pages_prompts import write_prompt_pages
from annotator.site.publish import staged
from annotator.site.render import SiteWriter


@dataclass
class SiteSummary:
    """What ``build_site`` wrote: pages, seconds, and how many of each kind."""

    pages: int
    seconds: float
    out_dir: Path
    papers: int = 0
    authors: int = 0
    prompt_versions: int = 0
    eval_runs: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per page type


def database_label(engine: Engine) -> str:
    """The database as a footer names it: a SQLite file's name, a server URL without secrets."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return f"sqlite: {Path(url.database or ':memory:').name}"
    return redact_url(url.render_as_string(hide_password=False))


def _footer(engine: Engine) -> dict:
    with engine.connect() as conn:
        hashes = [f"{n}@{v} {h[:12]}" for n, v, h in prompt_hashes(conn)]
        jset = resolve(conn)
    return {
        "database": database_label(engine),
        "prompts": hashes,
        "code": code_version().label,
        "built": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "scores": f"{jset.prompt} / {jset.model}" if jset and jset.model else "nothing judged yet",
    }


def build_site(
    engine: Engine, out_dir: Path, *, min_author_papers: int = 1, page_size: int = 100, eval_dirs: Sequence[Path] = ()
) -> SiteSummary:
    """Write the static site for this database and put it at ``out_dir`` in one swap.

    The pages are written into a fresh folder beside ``out_dir``, which replaces
    ``out_dir`` whole when every page is written (``publish``): readers see the old
    site or the new one, never a mix, and pages no longer produced are gone. A build
    that fails leaves the old site as it was. ``out_dir`` must be missing, empty, or a
    site this tool built; anything else is refused (``InputError``) before any work.

    ``min_author_papers``: authors with fewer papers get no page (their names are plain
    text). ``page_size``: papers per list page. ``eval_dirs``: folders searched for the
    ``result.json`` files of eval runs (or such files themselves).
    """
    if page_size < 1:
        raise InputError("must be at least 1", field="page_size")
    start = time.perf_counter()
    out_dir = Path(out_dir)
    with staged(out_dir) as folder:
        summary = _write(engine, folder, min_author_papers, page_size, eval_dirs)
    summary.out_dir = out_dir
    summary.seconds = round(time.perf_counter() - start, 3)
    return summary


def _write(
    engine: Engine, folder: Path, min_author_papers: int, page_size: int, eval_dirs: Sequence[Path]
) -> SiteSummary:
    """Every page, into ``folder`` (fresh and empty)."""
    site = SiteWriter(folder, _footer(engine))
    site.copy_static()
    with engine.connect() as conn:
        jset = resolve(conn)
    timings: dict[str, float] = {}

    def timed(name: str, t0: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - t0, 3)
        return now

    t = time.perf_counter()
    authors = authors_with_pages(engine, min_author_papers)
    with_pages = {a for a, _, _ in authors}
    rows = write_paper_pages(engine, site, jset, with_pages)
    t = timed("paper pages", t)
    categories = write_lists(site, rows, page_size)
    t = timed("paper lists", t)
    index = write_author_pages(engine, site, authors, jset)
    t = timed("author pages", t)
    write_boards(engine, site, with_pages)
    t = timed("leaderboards", t)
    versions = write_prompt_pages(engine, site, {r.id for r in rows})
    t = timed("prompt pages", t)
    runs = write_eval_pages(site, [Path(d) for d in eval_dirs])
    t = timed("eval pages", t)
    site.page(
        "index.html",
        "index.html",
        papers=len(rows),
        categories=categories,
        authors=index[:20],
        n_authors=len(index),
        min_author_papers=min_author_papers,
        versions=versions,
        runs=runs,
        newest=sorted(rows, key=lambda r: (r.published, r.id), reverse=True)[:10],
    )
    return SiteSummary(
        pages=site.pages,
        seconds=0.0,
        out_dir=folder,
        papers=len(rows),
        authors=len(index),
        prompt_versions=len(versions),
        eval_runs=len(runs),
        timings=timings,
    )
