"""Eval pages: every stored eval run (the ``result.json`` that ``annotator eval run`` writes)
with its metrics, intervals, human ceiling, baselines and plots, and each suite's
history of every metric across prompt versions."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from annotator.errors import AnnotatorError
from annotator.evaluation.baselines import CONSTANT, TFIDF
from annotator.evaluation.results import EvalResult, load_result
from annotator.prompts.registry import version_key
from annotator.site.render import SiteWriter

CHART_W, CHART_H = 150, 34


@dataclass
class StoredRun:
    result: EvalResult
    source: Path
    slug: str
    plots: list[str]  # file names under evals/<slug>/

    @property
    def prompt(self) -> str:
        p = self.result.provenance
        return f"{p.prompt_name}@{p.prompt_version}" if p.prompt_name else "(unknown prompt)"

    @property
    def suite(self) -> str:
        return self.result.suite or self.result.provenance.suite or "(no suite)"


def find_results(dirs: list[Path]) -> tuple[list[tuple[Path, EvalResult]], list[str]]:
    """Every readable ``result.json`` under these folders (or these files); unreadable ones
    are listed as problems, never fatal."""
    found, problems = [], []
    paths: list[Path] = []
    for d in dirs:
        paths += [d] if d.is_file() else sorted(d.rglob("result.json"))
    for path in paths:
        try:
            found.append((path, load_result(str(path))))
        except AnnotatorError as exc:
            problems.append(f"{path.name}: {exc}")
    return found, problems


def _slug(path: Path, result: EvalResult) -> str:
    p = result.provenance
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
    parts = [result.suite or "run", p.prompt_name or "", str(p.prompt_version or ""), digest]
    return "-".join(filter(None, parts)).replace("/", "-").replace(" ", "-")


def _version_order(run: StoredRun) -> tuple:
    return version_key(run.result.provenance.prompt_version), run.result.provenance.date or ""


@dataclass
class SuiteHistory:
    """One suite's runs in prompt-version order, and each metric's points across them."""

    runs: list[StoredRun]
    metrics: dict[str, list[dict]]  # metric -> points (run, value, lo, hi, chart coordinates)

    def cell(self, metric: str, run: StoredRun) -> dict | None:
        return next((p for p in self.metrics[metric] if p["run"] is run), None)


def history(runs: list[StoredRun]) -> dict[str, SuiteHistory]:
    """suite -> its history: every metric across prompt versions (oldest first), with intervals."""
    out: dict[str, SuiteHistory] = {}
    for run in sorted(runs, key=_version_order):
        h = out.setdefault(run.suite, SuiteHistory([], defaultdict(list)))
        h.runs.append(run)
        for name in run.result.metric_names():
            mv = run.result.metric(name)
            if mv is not None and mv.value is not None:
                h.metrics[name].append({"run": run, "value": mv.value, "lo": mv.ci_low, "hi": mv.ci_high})
    for h in out.values():
        h.metrics = dict(h.metrics)
        for points in h.metrics.values():
            _place(points)
    return out


def _place(points: list[dict]) -> None:
    """Sparkline coordinates: the values and their intervals on one scale."""
    values = [v for p in points for v in (p["value"], p["lo"], p["hi"]) if v is not None]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    step = (CHART_W - 12) / max(1, len(points) - 1)

    def y(v: float) -> float:
        return round(CHART_H - 3 - (v - lo) / (hi - lo) * (CHART_H - 6), 1)

    for i, p in enumerate(points):
        p["x"] = round(6 + i * step, 1)
        p["y"] = y(p["value"])
        p["y_lo"] = y(p["lo"]) if p["lo"] is not None else p["y"]
        p["y_hi"] = y(p["hi"]) if p["hi"] is not None else p["y"]


def _plots(site: SiteWriter, run_dir: Path, slug: str) -> list[str]:
    names = []
    for png in sorted(run_dir.glob("*.png")):
        site.copy_file(png, f"evals/{slug}/{png.name}")
        names.append(png.name)
    return names


def write_eval_pages(site: SiteWriter, dirs: list[Path]) -> list[StoredRun]:
    found, problems = find_results(dirs)
    runs = []
    for path, result in found:
        slug = _slug(path, result)
        runs.append(StoredRun(result, path, slug, _plots(site, path.parent, slug)))
    runs.sort(key=lambda r: (r.suite, _version_order(r)))
    for run in runs:
        site.page(
            f"evals/{run.slug}.html",
            "eval.html",
            run=run,
            r=run.result,
            checks={t.name: t for t in run.result.thresholds},
            tfidf=TFIDF,
            constant=CONSTANT,
        )
    site.page(
        "evals/index.html",
        "evals.html",
        runs=runs,
        history=history(runs),
        problems=problems,
        chart_w=CHART_W,
        chart_h=CHART_H,
    )
    return runs
