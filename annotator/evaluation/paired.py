"""Paired comparison of two runs on the same papers.

Only papers scored in both runs (and with a gold label) are used. Every bootstrap
replicate resamples those papers once and computes the metric for both runs on the
same resample; the difference (candidate minus baseline) gets a 95 % percentile
interval. Verdict: "better" or "worse" when the interval excludes 0 (for MAE/RMSE lower
is better), else "no detectable difference".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from .labels import label_specs_for_items, label_specs_for_suite
from .metrics import MIN_PAPERS, Binning, decisions, is_better, metric_rows
from .pipeline import normalise_prediction
from .results import EvalResult
from .stats import bootstrap_indices, percentile_ci
from .suite_types import EvalItem

SAME = "no detectable difference"


class MetricDiff(BaseModel):
    name: str  # e.g. spearman_ai
    baseline: float | None
    candidate: float | None
    diff: float | None  # candidate - baseline
    ci_low: float | None
    ci_high: float | None
    n: int
    verdict: str  # "better", "worse", "no detectable difference" or "undefined"


class RunComparison(BaseModel):
    baseline: str
    candidate: str
    n_common: dict[str, int]  # label -> papers scored in both runs
    diffs: list[MetricDiff]
    notes: list[str] = []

    def to_markdown(self) -> str:
        lines = [
            f"## Comparison: {self.candidate} vs {self.baseline}",
            "",
            "| metric | baseline | candidate | difference [95% CI] | n | verdict |",
            "|---|---|---|---|---|---|",
        ]
        f = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
        for d in self.diffs:
            ci = f" [{d.ci_low:+.3f}, {d.ci_high:+.3f}]" if d.ci_low is not None else ""
            diff = "—" if d.diff is None else f"{d.diff:+.3f}{ci}"
            lines.append(f"| {d.name} | {f(d.baseline)} | {f(d.candidate)} | {diff} | {d.n} | {d.verdict} |")
        return "\n".join(lines + [""] + [f"- {n}" for n in self.notes]) + "\n"


def _verdict(kind: str, diff: float, lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None or lo <= 0 <= hi:
        return SAME
    return "better" if is_better(kind, diff) else "worse"


def paired_diffs(
    name: str,
    kinds: Sequence[str],
    pred_a,
    pred_b,
    gold,
    *,
    accepted=None,
    bins: int = 5,
    binning: Binning = "quantile",
    gold_scale=None,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[MetricDiff]:
    """Metric differences (b minus a) over the same papers with paired bootstrap intervals."""
    a, b, g = (np.asarray(v, float) for v in (pred_a, pred_b, gold))
    out = []
    for kind in kinds:
        pa, pb, gg, positive = a, b, g, None
        if kind == "auroc":
            acc = decisions(accepted) if accepted is not None else np.full(len(a), np.nan)
            has = np.isfinite(acc)
            pa, pb, gg, positive = a[has], b[has], g[has], acc[has] > 0.5
        n = len(pa)
        idx = bootstrap_indices(n, n_boot, seed) if n >= MIN_PAPERS and n_boot > 0 else None
        kw = dict(positive=positive, bins=bins, binning=binning, gold_scale=gold_scale)
        if n < MIN_PAPERS:
            out.append(
                MetricDiff(
                    name=f"{kind}_{name}",
                    baseline=None,
                    candidate=None,
                    diff=None,
                    ci_low=None,
                    ci_high=None,
                    n=n,
                    verdict="undefined",
                )
            )
            continue
        va, ba = metric_rows(kind, pa, gg, idx, **kw)
        vb, bb = metric_rows(kind, pb, gg, idx, **kw)
        diff = float(vb - va) if np.isfinite(va) and np.isfinite(vb) else None
        lo = hi = None
        if diff is not None and ba is not None and bb is not None:
            lo, hi, _ = percentile_ci(bb - ba)
        fin = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731
        out.append(
            MetricDiff(
                name=f"{kind}_{name}",
                baseline=fin(va),
                candidate=fin(vb),
                diff=diff,
                ci_low=lo,
                ci_high=hi,
                n=n,
                verdict="undefined" if diff is None else _verdict(kind, diff, lo, hi),
            )
        )
    return out


def compare_predictions(
    items: Sequence[EvalItem],
    baseline: Mapping[str, Any],
    candidate: Mapping[str, Any],
    *,
    suite=None,
    n_boot: int = 1000,
    seed: int = 0,
    names: tuple[str, str] = ("baseline", "candidate"),
    bins: int = 5,
    binning: Binning = "quantile",
) -> RunComparison:
    """Compare two prediction dicts ({id: {"ai_score", "novelty"}}) on the same items."""
    specs = label_specs_for_suite(suite) if suite is not None else label_specs_for_items(items)
    keys = [k for k in ("ai_score", "novelty") if any(s.pred_key == k for s in specs)]
    va = {it.id: normalise_prediction(baseline.get(it.id), keys)[0] for it in items}
    vb = {it.id: normalise_prediction(candidate.get(it.id), keys)[0] for it in items}
    n_common, diffs = {}, []
    for spec in specs:
        rows = [(va[it.id][spec.pred_key], vb[it.id][spec.pred_key], spec.gold(it), it.accepted) for it in items]
        rows = [r for r in rows if None not in r[:3]]
        n_common[spec.name] = len(rows)
        cols = list(zip(*rows)) if rows else [(), (), (), ()]
        accepted = list(cols[3]) if "auroc" in spec.kinds else None
        diffs += paired_diffs(
            spec.name,
            spec.kinds,
            cols[0],
            cols[1],
            cols[2],
            accepted=accepted,
            bins=bins,
            binning=binning,
            gold_scale=spec.scale,
            n_boot=n_boot,
            seed=seed,
        )
    return RunComparison(baseline=names[0], candidate=names[1], n_common=n_common, diffs=diffs)


def compare(baseline: EvalResult, candidate: EvalResult, *, n_boot: int = 1000, seed: int = 0) -> RunComparison:
    """Paired comparison of two EvalResults over the papers both runs scored.

    Labels, metric kinds, scales and gold values are taken from the baseline run.
    """
    notes = []
    if baseline.provenance.data_hash != candidate.provenance.data_hash:
        notes.append(
            "the runs used different data files (data_hash differs); gold labels are taken from the baseline run"
        )
    cand = {p.id: p for p in candidate.papers}
    papers = [p for p in baseline.papers if p.id in cand]
    notes.append(f"{len(papers)} papers in both runs ({len(baseline.papers)} in baseline, {len(cand)} in candidate)")
    name_a = baseline.provenance.model or "baseline"
    name_b = candidate.provenance.model or "candidate"
    if name_a == name_b:
        name_a, name_b = f"{name_a} (baseline)", f"{name_b} (candidate)"
    n_common, diffs = {}, []
    for label, res in baseline.labels.items():
        rows = [
            (p.pred.get(res.pred_key), cand[p.id].pred.get(res.pred_key), p.gold.get(label), p.accepted) for p in papers
        ]
        rows = [r for r in rows if None not in r[:3]]
        n_common[label] = len(rows)
        cols = list(zip(*rows)) if rows else [(), (), (), ()]
        kinds = list(res.metrics)
        diffs += paired_diffs(
            label,
            kinds,
            cols[0],
            cols[1],
            cols[2],
            accepted=list(cols[3]) if "auroc" in kinds else None,
            bins=int(baseline.settings.get("bins", 5)),
            binning=baseline.settings.get("binning", "quantile"),
            gold_scale=res.scale,
            n_boot=n_boot,
            seed=seed,
        )
    return RunComparison(baseline=name_a, candidate=name_b, n_common=n_common, diffs=diffs, notes=notes)
