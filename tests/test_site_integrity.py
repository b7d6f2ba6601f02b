"""The static site tells the truth about the database it was built from: links go to the right
author, no list page overwrites another, and a rebuild replaces the whole site at once.

Data comes in through the project's own ingest (JSONL files); builds run through
``build_site`` or through the ``annotator site build`` command in a subprocess, so a
killed build is a real ``kill -9`` and an interrupted one a real Ctrl-C.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
MARKER = ".annotator-site"


def _paper(n: int, *, authors: list, category: str = "cs.CL", title: str | None = None) -> dict:
    return {
        "id": f"p{n}",
        "title": title or f"Paper number {n}",
        "abstract": f"Abstract of paper {n}.",
        "authors": authors,
        "category": category,
        "published": f"2026-01-{1 + n % 28:02d}",
    }


def _ingest(tmp: Path, db: str, papers: list[dict], name: str = "papers.jsonl"):
    import annotator

    path = tmp / name
    path.write_text("".join(json.dumps(p) + "\n" for p in papers), encoding="utf-8")
    engine = annotator.open_db(db)
    annotator.ingest_files(engine, str(path))
    return engine


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _paper_page(root: Path, engine, title: str) -> Path:
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT id FROM papers WHERE title = :t"), {"t": title}).scalar_one()
    return root / "paper" / str(pid // 1000) / f"{pid}.html"


def _links_to(page: Path, name: str) -> list[Path]:
    """The pages that the links named ``name`` on ``page`` point at."""
    html = page.read_text(encoding="utf-8")
    return [(page.parent / href).resolve() for href in re.findall(rf'<a href="([^"]+)">{re.escape(name)}</a>', html)]


# -- authors are linked by id ---------------------------------------------------------
def test_same_name_authors_link_to_their_own_profiles(tmp_path):
    from annotator.site import build_site

    wei_a = {"name": "Wei Wang", "openalex_id": "A1111111111"}
    wei_b = {"name": "Wei Wang", "openalex_id": "A2222222222"}
    engine = _ingest(
        tmp_path,
        str(tmp_path / "w.db"),
        [
            _paper(1, authors=[wei_a, "Ann Other"], title="Alpha by the first Wei Wang"),
            _paper(2, authors=[wei_b, "Bob Other"], title="Beta by the second Wei Wang"),
            _paper(3, authors=[wei_b, wei_a], title="Gamma by both"),
        ],
    )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM authors WHERE name = 'Wei Wang'")).scalar_one() == 2
    root = tmp_path / "site"
    build_site(engine, root)
    alpha = _links_to(_paper_page(root, engine, "Alpha by the first Wei Wang"), "Wei Wang")
    beta = _links_to(_paper_page(root, engine, "Beta by the second Wei Wang"), "Wei Wang")
    both = _links_to(_paper_page(root, engine, "Gamma by both"), "Wei Wang")
    assert len(alpha) == len(beta) == 1 and len(both) == 2
    first, second = alpha[0], beta[0]
    assert first != second
    assert "Alpha by the first Wei Wang" in first.read_text(encoding="utf-8")
    assert "Beta by the second Wei Wang" not in first.read_text(encoding="utf-8")
    assert "Beta by the second Wei Wang" in second.read_text(encoding="utf-8")
    assert both == [second, first]  # in the paper's author order


# -- list pages never overwrite each other -----------------------------------------
def _list_titles(page: Path) -> list[str]:
    return re.findall(r'<a class="title" href="[^"]+">([^<]+)</a>', page.read_text(encoding="utf-8"))


def test_every_category_gets_its_own_list_pages(tmp_path):
    from annotator.site import build_site

    cats = {"all": 3, "q-bio/NC": 2, "q-bio NC": 1, "cs.CL": 1}
    papers, n = [], 0
    for cat, count in cats.items():
        for _ in range(count):
            n += 1
            papers.append(_paper(n, authors=[f"Author {n}"], category=cat, title=f"{cat} paper {n}"))
    engine = _ingest(tmp_path, str(tmp_path / "c.db"), papers)
    root = tmp_path / "site"
    summary = build_site(engine, root, page_size=2)
    assert summary.papers == 7
    # the list of every paper: 7 papers at 2 a page
    everything = [t for k in range(1, 5) for t in _list_titles(root / "papers" / f"all-{k}.html")]
    assert sorted(everything) == sorted(p["title"] for p in papers)
    # each category's list, found from the front page's links, holds that category's papers only
    index = (root / "index.html").read_text(encoding="utf-8")
    links = dict(
        (cat, href) for href, cat in re.findall(r'<a class="tag" href="(papers/[^"]+)">([^<]+?) <span>', index)
    )
    assert sorted(links) == sorted(cats)
    assert len(set(links.values())) == len(cats)
    for cat in cats:
        first = root / links[cat]
        assert first.name.endswith("-1.html")
        pages = sorted(first.parent.glob(first.name[: -len("1.html")] + "*.html"))
        titles = [t for page in pages for t in _list_titles(page)]
        assert sorted(titles) == sorted(p["title"] for p in papers if p["category"] == cat), cat
        assert f"<h1>{cat} papers" in first.read_text(encoding="utf-8")
    # no list page was written twice: every page the summary counts is on disk
    assert summary.pages == sum(1 for _ in root.rglob("*.html"))


# -- a rebuild replaces the site at once ------------------------------------------
def test_a_rebuild_drops_pages_of_removed_papers_and_authors(tmp_path):
    from annotator.site import build_site

    engine = _ingest(
        tmp_path,
        str(tmp_path / "r.db"),
        [
            _paper(1, authors=["Kept Author", "Lone Author"], title="To be removed"),
            _paper(2, authors=["Kept Author"], title="Stays"),
        ],
    )
    root = tmp_path / "site"
    build_site(engine, root)
    gone = _paper_page(root, engine, "To be removed")
    lone = _links_to(gone, "Lone Author")
    assert gone.is_file() and len(lone) == 1 and lone[0].is_file()
    with engine.begin() as conn:
        pid = conn.execute(text("SELECT id FROM papers WHERE title = 'To be removed'")).scalar_one()
        for table in ("authorships", "author_papers", "paper_affiliations"):
            conn.execute(text(f"DELETE FROM {table} WHERE paper_id = :p"), {"p": pid})
        conn.execute(text("DELETE FROM papers WHERE id = :p"), {"p": pid})
    summary = build_site(engine, root)
    assert not gone.exists() and not lone[0].exists()
    assert summary.papers == 1 and summary.pages == sum(1 for _ in root.rglob("*.html"))
    assert "To be removed" not in (root / "papers" / "all-1.html").read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("site")] == ["site"]


def test_refuses_to_replace_a_folder_that_is_not_a_site(tmp_path):
    from annotator.errors import AnnotatorError
    from annotator.site import build_site

    engine = _ingest(tmp_path, str(tmp_path / "h.db"), [_paper(1, authors=["A B"])])
    home = tmp_path / "home"
    (home / "docs").mkdir(parents=True)
    (home / "notes.txt").write_text("keep me", encoding="utf-8")
    (home / "docs" / "cv.md").write_text("keep me too", encoding="utf-8")
    before = _files(home)
    with pytest.raises(AnnotatorError, match="not a site"):
        build_site(engine, home)
    assert _files(home) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("home")) == ["home"]
    # an empty folder and a missing one are fine, and a built site is replaced
    (tmp_path / "empty").mkdir()
    for target in (tmp_path / "empty", tmp_path / "missing" / "site", tmp_path / "empty"):
        build_site(engine, target)
        assert (target / "index.html").is_file() and (target / MARKER).is_file()


# -- builds killed, interrupted and run side by side --------------------------------
def _cli(db: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "annotator.cli", "--db", db, "site", "build", "-o", str(out)]


def _many(tmp: Path, db: str, n: int, start: int = 0, name: str = "many.jsonl"):
    return _ingest(
        tmp,
        db,
        [
            _paper(i, authors=[f"Author {i % 50}", f"Writer {i % 7}"], category=f"cat.{i % 5}")
            for i in range(start, start + n)
        ],
        name,
    )


def _stop_halfway(tmp: Path, cmd: list[str], sig: int, pages_before: int) -> int:
    """Start a build, wait until it has written some paper pages (wherever it writes them
    beside or into the site), send ``sig``."""
    env = {**os.environ, "ANNOTATOR_RETRY_WAIT_SCALE": "0"}
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if sum(1 for _ in tmp.glob("site*/paper/*/*.html")) >= pages_before + 20:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the build ended before it could be stopped halfway"
        proc.send_signal(sig)
        return proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["killed", "interrupted"])
def test_a_build_stopped_halfway_leaves_the_old_site(tmp_path, sig):
    from annotator.site import build_site

    db = str(tmp_path / "k.db")
    engine = _many(tmp_path, db, 20)
    root = tmp_path / "site"
    build_site(engine, root)
    before = _files(root)
    _many(tmp_path, db, 3000, start=20, name="more.jsonl")
    from annotator.db.engine import dispose_all

    dispose_all()
    code = _stop_halfway(tmp_path, _cli(db, root), sig, pages_before=20)
    assert code != 0
    assert _files(root) == before  # not one page of the stopped build shows
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith("site.")]
    if sig == signal.SIGINT:
        assert leftovers == []  # an interrupted build removes its own temporary folder
    else:
        assert len(leftovers) == 1  # a killed one cannot: the next build does
    summary = build_site(engine, root)
    assert summary.papers == 3020 and (root / MARKER).is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("site")] == ["site"]


def test_two_builds_at_once_leave_one_whole_site(tmp_path):
    db = str(tmp_path / "t.db")
    _many(tmp_path, db, 300)
    from annotator.db.engine import dispose_all

    dispose_all()
    root = tmp_path / "site"
    env = {**os.environ, "ANNOTATOR_RETRY_WAIT_SCALE": "0"}
    procs = [
        subprocess.Popen(_cli(db, root), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=600)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("site")] == ["site"]
    assert sum(1 for _ in root.glob("paper/*/*.html")) == 300
    assert (root / MARKER).is_file() and (root / "index.html").is_file()
