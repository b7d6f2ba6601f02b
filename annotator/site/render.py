"""Templates and page files: one Jinja2 environment (autoescape on), relative links.

Every page is written with ``root``, the relative path back to the site's top
folder ("", "../", "../../"), so links work from the file system as well as
from any static host.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from annotator.errors import AnnotatorError

STATIC_FILES = ("site.css", "site.js")


def _num(value: object, fmt: str = "{}") -> str:
    return "–" if value is None else fmt.format(value)


def _date(value: object) -> str:
    """``2023-07-15`` as the feed shows it: ``Jul 15, 2023``."""
    if not value:
        return ""
    try:
        d = date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{d:%b} {d.day}, {d.year}"


def _ci(ci: list[float] | None) -> str:
    if not ci:
        return ""
    lo, hi = ci
    return f"[{lo:.1f}, {hi:.1f}]"


def paper_link(key: str | None) -> str | None:
    """The arXiv or DOI address of a paper key, when it has one."""
    if not key:
        return None
    kind, _, ident = key.partition(":")
    if kind == "arxiv" and ident:
        return f"https://arxiv.org/abs/{ident}"
    if kind == "doi" and ident:
        return f"https://doi.org/{ident}"
    return None


def paper_path(paper_id: int) -> str:
    """Where a paper's page lives: folders of a thousand pages each."""
    return f"paper/{paper_id // 1000}/{paper_id}.html"


def category_slug(category: str) -> str:
    """A category as a readable file-name part: ``cs.CL`` -> ``cs.CL``, ``a/b c`` -> ``a-b-c``.
    Not unique (``q-bio/NC`` and ``q-bio NC`` give the same): ``list_slugs`` adds a hash."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", category).strip("-.")
    return slug or "other"


ALL_LIST = "all"  # the list of every paper: papers/all-N.html, a name no category list can take


def list_slugs(categories: list[str], digits: int = 8) -> dict[str, str]:
    """Each category's list name: ``<slug>-<first hex digits of the category's SHA-256>``.

    The list pages are ``papers/<name>-N.html``. A category name always ends in ``-`` and
    hex digits, so none can be ``all`` (the list of every paper) and two categories that
    read alike (``q-bio/NC``, ``q-bio NC``) differ by their hashes. Should two hashes
    ever agree in their first digits, every name gets more digits: unique by construction.
    """
    names = {cat: f"{category_slug(cat)}-{hashlib.sha256(cat.encode()).hexdigest()[:digits]}" for cat in categories}
    if len(set(names.values())) < len(names):
        if digits >= 64:  # the same slug and the same full hash: the same category
            raise AssertionError("two categories with one SHA-256")
        return list_slugs(categories, digits * 2)
    return names


def author_path(author_id: int) -> str:
    return f"authors/{author_id}.html"


def make_env() -> Environment:
    env = Environment(
        loader=PackageLoader("annotator.site", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=_num, feeddate=_date, ci=_ci)
    env.globals.update(paper_link=paper_link, paper_path=paper_path, author_path=author_path, all_list=ALL_LIST)
    return env


class SiteWriter:
    """Renders templates into files under ``out_dir`` (a fresh folder: see ``publish``) and
    counts the pages written. A page is never overwritten: writing one name twice is an error."""

    def __init__(self, out_dir: Path, footer: dict[str, Any]) -> None:
        self.out_dir = out_dir
        self.env = make_env()
        # the footer is the same on every page: rendered once
        self.footer_html = Markup(self.env.get_template("_footer.html").render(footer=footer))
        self.pages = 0
        self._made: set[Path] = set()
        self._templates: dict[str, Any] = {}

    def page(self, rel_path: str, template: str, **context: Any) -> None:
        target = self.out_dir / rel_path
        folder = target.parent
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        tpl = self._templates.get(template)
        if tpl is None:
            tpl = self._templates[template] = self.env.get_template(template)
        root = "../" * rel_path.count("/")
        html = tpl.render(root=root, footer_html=self.footer_html, **context)
        try:
            # a build writes into a fresh folder, so a file that exists was written by this
            # build: two pages given one name, which would lose one of them
            with target.open("x", encoding="utf-8") as out:
                out.write(html)
        except FileExistsError:
            raise AnnotatorError(f"site: two pages would be written to {rel_path}") from None
        self.pages += 1

    def copy_static(self) -> None:
        dest = self.out_dir / "static"
        dest.mkdir(parents=True, exist_ok=True)
        source = files("annotator.site") / "static"
        for name in STATIC_FILES:
            (dest / name).write_bytes((source / name).read_bytes())

    def copy_file(self, source: Path, rel_path: str) -> None:
        target = self.out_dir / rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
