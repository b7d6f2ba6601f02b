"""The static site (``annotator site build``), read as files: pages of every kind, links that
resolve, numbers from the feed's seed page, untrusted text escaped, the CLI and the server.

The site is built once per module from a real pipeline: the seed page ingested, papers
judged by two prompt versions through the fake OpenAI-compatible server, an eval suite run
under both versions. ``tests/test_site_browser.py`` opens the same site in Chromium.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import SEED_PAGE
from typer.testing import CliRunner

from annotator import cli

REPO = Path(__file__).resolve().parent.parent
SUITE = REPO / "tests" / "fixtures" / "eval" / "synthetic.toml"
MODEL = "gpt-4o-mini"
SCRIPT = '<script>window.__injected = 1; console.error("injected");</script>'
HOSTILE_TITLE = 'Hostile <img src=x onerror="window.__injected=2"> title'


@dataclass
class BuiltSite:
    root: Path
    db: str
    summary: object
    eval_dirs: list[Path]
    hostile_id: int


def _hostile_papers(path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "id": "hostile-1",
                "title": HOSTILE_TITLE,
                "abstract": f"An abstract that carries markup. {SCRIPT} It must show as text.",
                "authors": ["Mallory <b>Bold</b>", "Eve Example"],
                "categories": ["cs.CR"],
                "published": "2026-01-05",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    return path


def build_world(tmp: Path) -> BuiltSite:
    """Seed page + one hostile paper, judged by score@1 and score@2, two eval runs, the site."""
    import annotator
    from annotator.prompts.admin import new_version
    from annotator.site import build_site
    from annotator.testing.fakeserver import FakeServer

    prompts = tmp / "prompts"
    (prompts / "score").mkdir(parents=True)
    shutil.copy(REPO / "prompts" / "score" / "v1.md", prompts / "score" / "v1.md")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOTATOR_PROMPTS", str(prompts))
        mp.setenv("ANNOTATOR_RETRY_WAIT_SCALE", "0")
        db = str(tmp / "site.db")
        engine = annotator.open_db(db)
        annotator.ingest_files(engine, str(SEED_PAGE))
        summary = annotator.ingest_files(engine, str(_hostile_papers(tmp / "hostile.jsonl")))
        hostile_id = summary.paper_ids[0]
        eval_dirs = [tmp / "evals" / "v1", tmp / "evals" / "v2"]
        with FakeServer() as fs:
            kw = dict(model=MODEL, base_url=fs.base_url, api_key="sk-test")
            assert annotator.annotate(engine, prompt="score@1", **kw).failed == 0
            annotator.evaluate_suite(engine, SUITE, prompt="score@1", out_dir=eval_dirs[0], **kw)
            v2 = new_version("score", prompts)
            v2.write_text(
                v2.read_text(encoding="utf-8").replace("experienced reviewer", "strict reviewer"), encoding="utf-8"
            )
            assert annotator.annotate(engine, prompt="score@2", **kw).failed == 0
            annotator.evaluate_suite(engine, SUITE, prompt="score@2", out_dir=eval_dirs[1], **kw)
        site = build_site(engine, tmp / "site", min_author_papers=1, page_size=20, eval_dirs=[tmp / "evals"])
    return BuiltSite(tmp / "site", db, site, eval_dirs, hostile_id)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> BuiltSite:
    from annotator.db.engine import dispose_all

    world = build_world(tmp_path_factory.mktemp("site"))
    dispose_all()
    return world


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        for name in ("href", "src"):
            if a.get(name):
                self.links.append(a[name] or "")


def local_targets(page: Path) -> list[tuple[str, Path, str]]:
    """(link, file it points at, fragment) for every link of a page that stays in the site."""
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    out = []
    for link in parser.links:
        parts = urlsplit(link)
        if parts.scheme or link.startswith("//"):
            continue
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        out.append((link, target, parts.fragment))
    return out


def page_ids(page: Path) -> set[str]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.ids


def author_page(root: Path, name: str) -> Path:
    for page in (root / "authors").glob("*.html"):
        if f"<h1>{name}</h1>" in page.read_text(encoding="utf-8"):
            return page
    raise AssertionError(f"no author page for {name}")


# -- the tests ----------------------------------------------------------------------
def test_every_page_type_is_written(built):
    root, s = built.root, built.summary
    for rel in (
        "index.html",
        "papers/all-1.html",
        "authors/index.html",
        "boards/min-1.html",
        "boards/min-10.html",
        "prompts/index.html",
        "prompts/score-v1.html",
        "prompts/score-v2.html",
        "prompts/score-v1-to-v2.html",
        "evals/index.html",
        "static/site.css",
        "static/site.js",
    ):
        assert (root / rel).is_file(), rel
    assert s.papers == 46 and s.prompt_versions == 2 and s.eval_runs == 2
    assert len(list((root / "paper").rglob("*.html"))) == 46
    assert len(list((root / "evals").glob("*.html"))) == 3  # the index and two runs
    # 46 papers at 20 a page: three list pages, newest first
    assert sorted(p.name for p in (root / "papers").glob("all-*.html")) == ["all-1.html", "all-2.html", "all-3.html"]
    assert s.pages == sum(1 for _ in root.rglob("*.html"))


def test_no_broken_links(built):
    pages = sorted(built.root.rglob("*.html"))
    broken = []
    for page in pages:
        for link, target, fragment in local_targets(page):
            if not target.is_file():
                broken.append(f"{page.relative_to(built.root)} -> {link}")
            elif fragment and target.suffix == ".html" and fragment not in page_ids(target):
                broken.append(f"{page.relative_to(built.root)} -> {link} (no such anchor)")
    assert not broken, broken[:20]


def test_author_page_shows_the_feed_numbers(built):
    html = author_page(built.root, "Zhengyan Zhang").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert re.search(r"\b44 h-index\b", text)
    assert re.search(r"\b45 papers\b", text)
    assert re.search(r"\b24,889 citations\b", text)
    # the page's own Novelty % and AI Score beside ours
    assert "page: 54%" in text and "page: 55" in text
    assert "CA-LoRA: Adapting Existing LoRA for Compressed LLMs" in text
    assert "Jul 15, 2023" in text and "Weilin Zhao, Yuxiang Huang, Xu Han et al." in text
    assert "score@2" in text and MODEL in text  # which prompt version and model scored it


def test_paper_page_lists_every_judgment(built):
    page = built.root / "paper" / str(built.hostile_id // 1000) / f"{built.hostile_id}.html"
    html = page.read_text(encoding="utf-8")
    assert "score@1" in html and "score@2" in html and html.count("<tr") == 3  # header + 2


def test_untrusted_text_is_escaped(built):
    page = built.root / "paper" / str(built.hostile_id // 1000) / f"{built.hostile_id}.html"
    html = page.read_text(encoding="utf-8")
    assert "<script>window.__injected" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__injected = 1;" in html
    assert "Mallory &lt;b&gt;Bold&lt;/b&gt;" in html
    for page in built.root.rglob("*.html"):
        body = page.read_text(encoding="utf-8")
        assert "<script>window.__injected" not in body, page
        assert body.count("<script") == 1, page  # only the site's own script


def test_prompt_comparison_as_compare_gives_it(built):
    from annotator.db import open_db
    from annotator.evaluation.versions import compare_versions

    c = compare_versions(open_db(built.db), "score@1", "score@2", model=MODEL)
    html = (built.root / "prompts" / "score-v1-to-v2.html").read_text(encoding="utf-8")
    assert f"{c.n:,} papers judged by both" in html
    rho = c.field("ai_score").spearman
    assert (f"{rho:.3f}" if rho is not None else "n/a") in html
    assert "strict reviewer" in html and 'class="del"' in html  # the diff
    assert "<svg" in html


def test_eval_pages(built):
    index = (built.root / "evals" / "index.html").read_text(encoding="utf-8")
    assert "History: synthetic" in index and "spearman_ai" in index
    runs = [p for p in (built.root / "evals").glob("*.html") if p.name != "index.html"]
    result = json.loads((built.eval_dirs[0] / "result.json").read_text())
    html = next(p for p in runs if "score@1" in p.read_text(encoding="utf-8")).read_text(encoding="utf-8")
    value = result["labels"]["ai"]["metrics"]["spearman"]["value"]
    assert f"{value:.3f}" in html
    assert "human ceiling" in html and "TF-IDF baseline" in html
    assert re.search(r'<img src="[^"]+\.png"', html)


def test_cli_build_and_serve(built, tmp_path):
    from annotator.site.serve import serve_in_thread

    out = tmp_path / "again"
    r = CliRunner().invoke(
        cli.app,
        [
            "--db",
            built.db,
            "site",
            "build",
            "-o",
            str(out),
            "--min-author-papers",
            "2",
            "--page-size",
            "50",
            "--evals",
            str(built.eval_dirs[0]),
        ],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output
    # only authors with two or more papers get a page
    assert len(list((out / "authors").glob("*.html"))) < len(list((built.root / "authors").glob("*.html")))
    server, url = serve_in_thread(out)
    try:
        with urllib.request.urlopen(url + "papers/all-1.html", timeout=5) as resp:
            assert resp.status == 200 and "All papers" in resp.read().decode()
    finally:
        server.shutdown()
        server.server_close()


def test_serve_refuses_a_folder_without_a_site(tmp_path):
    r = CliRunner().invoke(cli.app, ["site", "serve", str(tmp_path)])
    assert r.exit_code == 3 and "index.html is missing" in r.output
