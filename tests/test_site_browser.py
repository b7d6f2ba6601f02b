"""The built site in a real browser: headless Chromium (Debian's package, installed by
``.ci/chromium.sh``) driven by Playwright through ``executable_path``.

Every page reachable from the front page is opened over HTTP (``site serve``'s server)
and every page type from the file system: no console errors, no failed requests, no
broken links or images. The feed's numbers show on the seed author's page, a script in
an abstract does not run, the list filters work, each author link of a paper page opens
that author's profile, and screenshots of an author page, a paper page and an eval page
are written to ``$ANNOTATOR_ARTIFACTS`` (default ``tests/artifacts``).

Without Chromium or Playwright these tests skip, except under ``CI`` or
``ANNOTATOR_REQUIRE_BROWSER=1``, where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from test_site import build_world

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("ANNOTATOR_ARTIFACTS") or REPO / "tests" / "artifacts")
LINKS_JS = (
    "() => Array.from(document.querySelectorAll('a[href], img[src], link[href], script[src]'))"
    ".map(e => e.href || e.src)"
)


def _unavailable(reason: str):
    if os.environ.get("CI") or os.environ.get("ANNOTATOR_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required here but {reason} (run .ci/chromium.sh)")
    pytest.skip(reason)


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    _unavailable("chromium is not installed")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from annotator.db.engine import dispose_all

    world = build_world(tmp_path_factory.mktemp("site"))
    dispose_all()
    return world


@pytest.fixture(scope="module")
def browser(built):
    """Started after the site is built: Playwright's sync API keeps an event loop running,
    and building the site runs the annotator's own."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(built):
    from annotator.site.serve import serve_in_thread

    server, url = serve_in_thread(built.root)
    yield url
    server.shutdown()
    server.server_close()


class Watched:
    """A page that records console errors, uncaught exceptions and failed requests."""

    def __init__(self, browser, width: int = 1100, height: int = 900) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.problems: list[str] = []
        self.page.on(
            "console",
            lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on(
            "response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None
        )

    def open(self, url: str) -> list[str]:
        self.problems.clear()
        self.page.goto(url, wait_until="load")
        broken_images = self.page.evaluate(
            "() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        return self.problems + [f"broken image: {src}" for src in broken_images]

    def close(self) -> None:
        self.page.close()


def test_every_page_loads_clean_over_http(browser, served):
    """Crawl from the front page: every page opens without errors, every link resolves."""
    w = Watched(browser)
    seen, queue, problems = set(), deque([served + "index.html"]), []
    try:
        while queue:
            url = queue.popleft()
            if url in seen:
                continue
            seen.add(url)
            problems += [f"{url}: {p}" for p in w.open(url)]
            for link in w.page.evaluate(LINKS_JS):
                target, _ = urldefrag(link)
                if target.startswith(served) and target.endswith(".html") and target not in seen:
                    queue.append(target)
                elif target.startswith(served) and target not in seen:
                    seen.add(target)
                    status = w.page.request.get(target).status
                    if status != 200:
                        problems.append(f"{url} -> {target}: HTTP {status}")
    finally:
        w.close()
    kinds = {urlsplit(u).path.split("/")[1] for u in seen}
    assert {"index.html", "papers", "paper", "authors", "boards", "prompts", "evals"} <= kinds
    assert not problems, problems[:20]


PAGE_TYPES = (
    "index.html",
    "papers/all-1.html",
    "papers/all-2.html",
    "authors/index.html",
    "boards/min-1.html",
    "boards/min-3.html",
    "prompts/index.html",
    "prompts/score-v1.html",
    "prompts/score-v1-to-v2.html",
    "evals/index.html",
)


def test_every_page_type_loads_clean_from_the_file_system(browser, built):
    extra = [
        next((built.root / "authors").glob("[0-9]*.html")),
        next((built.root / "paper").rglob("*.html")),
        next(p for p in (built.root / "evals").glob("*.html") if p.name != "index.html"),
    ]
    w = Watched(browser)
    try:
        problems = {str(p): w.open(p.as_uri()) for p in [built.root / t for t in PAGE_TYPES] + extra}
    finally:
        w.close()
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


def _author_page(root: Path, name: str) -> Path:
    return next(p for p in (root / "authors").glob("*.html") if f"<h1>{name}</h1>" in p.read_text())


def test_seed_author_page_shows_the_feed_numbers(browser, built):
    w = Watched(browser, 1200, 1400)
    try:
        assert w.open(_author_page(built.root, "Zhengyan Zhang").as_uri()) == []
        value = w.page.inner_text
        assert value("#h-index .value") == "44"
        assert value("#papers .value") == "45"
        assert value("#citations .value") == "24,889"
        assert value("h2") == "45 Papers"
        first = w.page.locator("li.paper").first
        assert first.locator("details.abstract p").is_visible() is False  # collapsed
        first.locator("summary").click()
        assert first.locator("details.abstract p").is_visible()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        w.page.locator("summary").first.click()  # collapse again for the picture
        w.page.screenshot(path=str(ARTIFACTS / "site_author.png"))
    finally:
        w.close()
    assert (ARTIFACTS / "site_author.png").stat().st_size > 10_000


def test_paper_page_links_each_author_to_their_profile(browser, built):
    """Every author link on a paper page opens that author's profile, which lists the paper."""
    paper = next(
        p
        for p in (built.root / "paper").rglob("*.html")
        if "CA-LoRA: Adapting Existing LoRA" in p.read_text(encoding="utf-8")
    )
    w = Watched(browser, 1200, 900)
    try:
        assert w.open(paper.as_uri()) == []
        links = w.page.eval_on_selector_all("p.authors a", "els => els.map(e => [e.textContent, e.href])")
        assert [name for name, _ in links] == ["Weilin Zhao", "Yuxiang Huang", "Xu Han"]  # the feed's "et al."
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        w.page.screenshot(path=str(ARTIFACTS / "site_paper.png"))
        for name, href in links:
            assert w.open(href) == []
            assert w.page.inner_text("h1") == name
            assert "CA-LoRA: Adapting Existing LoRA" in w.page.inner_text("main")
    finally:
        w.close()
    assert (ARTIFACTS / "site_paper.png").stat().st_size > 10_000


def test_eval_page_screenshot(browser, built):
    page = next(p for p in (built.root / "evals").glob("*.html") if p.name != "index.html")
    w = Watched(browser, 1200, 1600)
    try:
        assert w.open(page.as_uri()) == []
        assert "spearman_ai" in w.page.inner_text("table.grid")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        w.page.screenshot(path=str(ARTIFACTS / "site_eval.png"), full_page=True)
        assert w.open((built.root / "evals" / "index.html").as_uri()) == []
        w.page.screenshot(path=str(ARTIFACTS / "site_evals_index.png"), full_page=True)
    finally:
        w.close()
    assert (ARTIFACTS / "site_eval.png").stat().st_size > 10_000


def test_script_in_an_abstract_does_not_run(browser, built, served):
    rel = f"paper/{built.hostile_id // 1000}/{built.hostile_id}.html"
    w = Watched(browser)
    try:
        for url in ((built.root / rel).as_uri(), served + rel):
            assert w.open(url) == []  # the injected console.error would show here
            assert w.page.evaluate("() => window.__injected === undefined")
            assert "<script>window.__injected = 1;" in w.page.inner_text("p.abstract-text")
            assert "Mallory <b>Bold</b>" in w.page.inner_text("p.authors")
            assert w.page.locator("p.abstract-text script, h1 img, p.authors b").count() == 0
    finally:
        w.close()


def test_list_filters_and_sorting(browser, built):
    w = Watched(browser)
    try:
        assert w.open((built.root / "papers" / "all-1.html").as_uri()) == []
        items = w.page.locator("li.paper")
        total = items.count()
        with_code = w.page.locator("li.paper[data-code='1']").count()
        assert 0 < with_code < total
        w.page.check("input[name=code]")
        assert w.page.locator("li.paper:visible").count() == with_code
        w.page.uncheck("input[name=code]")
        w.page.fill("input[name=ai_min]", "50")
        shown = [
            int(a) for a in w.page.eval_on_selector_all("li.paper:not([hidden])", "els => els.map(e => e.dataset.ai)")
        ]
        assert shown and min(shown) >= 50
        w.page.fill("input[name=ai_min]", "")
        w.page.select_option("select[name=sort]", "ai")
        order = [int(a) for a in w.page.eval_on_selector_all("li.paper", "els => els.map(e => e.dataset.ai)")]
        assert order == sorted(order, reverse=True)
        assert w.problems == []
    finally:
        w.close()
