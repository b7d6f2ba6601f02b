"""Prompt versions: each version's text and parameters, the diff to the version before it,
and the comparison of the two (``annotator compare``: shifts, rank correlation, movers)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from annotator.db.queries.judgments import judgments_per_version_and_model
from annotator.errors import AnnotatorError
from annotator.evaluation.versions import FIELDS, VersionComparison, compare_versions
from annotator.prompts.diff import PromptDiff, diff_prompts
from annotator.prompts.registry import described, version_key
from annotator.site.render import SiteWriter

HIST_W, HIST_H = 320, 120


@dataclass
class VersionInfo:
    id: int
    name: str
    version: str
    content_hash: str
    text: str
    params: dict
    active: bool
    created_at: str
    judged: dict[str, int] = field(default_factory=dict)  # model -> judgments

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def slug(self) -> str:
        return f"{self.name}-v{self.version}"


def load_versions(engine: Engine) -> list[VersionInfo]:
    with engine.connect() as conn:
        versions = {
            r.id: VersionInfo(
                r.id,
                r.name,
                str(r.version),
                r.content_hash,
                r.text,
                _params(r.params_json),
                bool(r.active),
                str(r.created_at)[:19],
            )
            for r in described(conn)
        }
        for pv, model, n in judgments_per_version_and_model(conn):
            if pv in versions:
                versions[pv].judged[model] = n
    return sorted(versions.values(), key=lambda v: (v.name, version_key(v.version)))


def _params(raw: str | None) -> dict:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def histogram_bars(hist: dict) -> list[dict]:
    """SVG rectangles for a shift histogram (``{"edges", "counts"}``)."""
    counts, edges = hist.get("counts") or [], hist.get("edges") or []
    if not counts:
        return []
    top = max(counts) or 1
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1
    bars = []
    for i, c in enumerate(counts):
        x = (edges[i] - lo) / span * HIST_W
        w = max(1.0, (edges[i + 1] - edges[i]) / span * HIST_W - 1)
        h = c / top * (HIST_H - 20)
        bars.append(
            {
                "x": round(x, 1),
                "w": round(w, 1),
                "y": round(HIST_H - 14 - h, 1),
                "h": round(h, 1),
                "count": c,
                "lo": edges[i] + 0.5,
                "hi": edges[i + 1] - 0.5,
            }
        )
    return bars


def zero_x(hist: dict) -> float | None:
    edges = hist.get("edges") or []
    if not edges or not edges[0] <= 0 <= edges[-1]:
        return None
    return round((0 - edges[0]) / ((edges[-1] - edges[0]) or 1) * HIST_W, 1)


def _without_paths(d: PromptDiff) -> PromptDiff:
    """The diff with its ``---``/``+++`` lines naming the versions only, not the files on disk."""
    lines = d.text_diff.splitlines(keepends=True)
    for i, line in enumerate(lines[:2]):
        if line.startswith(("--- ", "+++ ")):
            lines[i] = re.sub(r" \(.*\)$", "", line.rstrip("\n")) + "\n"
    d.text_diff = "".join(lines)
    return d


@dataclass
class Pair:
    a: VersionInfo
    b: VersionInfo
    diff: PromptDiff | None
    diff_error: str | None
    comparisons: list[VersionComparison]
    compare_errors: list[str]

    @property
    def slug(self) -> str:
        return f"{self.a.slug}-to-v{self.b.version}"


def _pairs(engine: Engine, versions: list[VersionInfo]) -> list[Pair]:
    pairs = []
    for a, b in zip(versions, versions[1:]):
        if a.name != b.name:
            continue
        try:
            diff, diff_error = _without_paths(diff_prompts(a.ref, b.ref, engine=engine)), None
        except AnnotatorError as exc:
            diff, diff_error = None, str(exc)
        comparisons, errors = [], []
        for model in sorted(set(a.judged) & set(b.judged)):
            try:
                comparisons.append(compare_versions(engine, a.ref, b.ref, model=model))
            except AnnotatorError as exc:
                errors.append(f"{model}: {exc}")
        pairs.append(Pair(a, b, diff, diff_error, comparisons, errors))
    return pairs


def write_prompt_pages(engine: Engine, site: SiteWriter, paper_ids: set[int]) -> list[VersionInfo]:
    """Version pages, comparison pages, the index; ``paper_ids``: papers with a page."""
    versions = load_versions(engine)
    pairs = _pairs(engine, versions)
    before = {p.b.id: p for p in pairs}
    after = {p.a.id: p for p in pairs}
    for v in versions:
        site.page(f"prompts/{v.slug}.html", "prompt.html", v=v, before=before.get(v.id), after=after.get(v.id))
    for p in pairs:
        site.page(
            f"prompts/{p.slug}.html",
            "prompt_compare.html",
            pair=p,
            fields=FIELDS,
            bars=histogram_bars,
            zero_x=zero_x,
            hist_w=HIST_W,
            hist_h=HIST_H,
            paper_ids=paper_ids,
        )
    site.page("prompts/index.html", "prompts.html", versions=versions, pairs=pairs)
    return versions
