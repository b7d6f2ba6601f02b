"""Comparing two prompt versions over the papers both judged (same model).

``compare_versions(engine, "score@1", "score@2")`` pairs each paper's judgment
under version A with its judgment under B and reports, per field (ai_score,
novelty): means, the mean and median shift (B - A), rank agreement (Spearman's
rho and Kendall's tau-b), the share of papers that moved more than
``threshold`` points, and, where judgments were sampled (``--samples K``), the
mean sampling spread of each version and how many shifts exceed what that
spread explains. The biggest movers come with their titles and both
rationales. Output: a rich table, Markdown, JSON and a PNG histogram of shifts.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau
from sqlalchemy.engine import Engine

from annotator.db.queries import judgments
from annotator.errors import ConfigError, PromptError
from annotator.evaluation.stats import MIN_RANK_PAIRS, spearman
from annotator.files import write_atomic
from annotator.prompts.diff import expand_ref
from annotator.prompts.files import parse_ref
from annotator.prompts.registry import version_id

FIELDS = ("ai_score", "novelty")
NOISE_SIGMAS = 2.0  # a shift beyond 2 x the combined sampling spread is not noise


@dataclass
class FieldStats:
    field: str
    n: int
    mean_a: float
    mean_b: float
    mean_shift: float  # mean of (B - A)
    median_shift: float  # median of (B - A)
    mean_abs_shift: float
    sd_shift: float | None  # sample standard deviation of the shifts (n - 1)
    spearman: float | None  # None when undefined (fewer than 3 papers, or a constant side)
    kendall: float | None  # tau-b
    moved: int  # papers with |B - A| > threshold
    share_moved: float
    spread_a: float | None = None  # mean sampling spread (pstdev of K samples) of A
    spread_b: float | None = None
    n_spread_a: int = 0  # papers with a sampled judgment under A
    n_spread_b: int = 0
    n_noise_checked: int = 0  # papers with a spread under A or B
    beyond_noise: int = 0  # of those, |shift| > 2 * sqrt(spread_a^2 + spread_b^2)


@dataclass
class Mover:
    paper_id: int
    title: str
    a: dict  # {"ai_score", "novelty", "rationale", "ai_score_spread", "novelty_spread"}
    b: dict
    shift: dict  # {"ai_score": B - A, "novelty": B - A}
    total_shift: int  # |d ai_score| + |d novelty|


@dataclass
class VersionComparison:
    a: str
    b: str
    model: str
    n: int  # papers judged by both
    only_a: int  # papers judged by A but not B (same model)
    only_b: int
    threshold: float
    fields: list[FieldStats]
    movers: list[Mover]
    histogram: dict = field(default_factory=dict)  # field -> {"edges": [...], "counts": [...]}

    def field(self, name: str) -> FieldStats:
        return next(f for f in self.fields if f.field == name)

    def to_dict(self) -> dict:
        return _finite(asdict(self))


def _finite(value):
    """JSON-safe: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


# -- statistics -------------------------------------------------------------------
def kendall(x, y) -> float | None:
    """Kendall's tau-b (ties counted on both sides), O(n log n); undefined (None) by the
    same rule as :func:`annotator.evaluation.stats.spearman`."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < MIN_RANK_PAIRS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(kendalltau(x, y, variant="b").statistic)


def _mean_or_none(values: list) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def field_stats(name: str, a, b, spread_a, spread_b, threshold: float) -> FieldStats:
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    n = len(d)
    noise_rows = [
        (abs(s), sa or 0.0, sb or 0.0) for s, sa, sb in zip(d, spread_a, spread_b) if sa is not None or sb is not None
    ]
    return FieldStats(
        field=name,
        n=n,
        mean_a=float(a.mean()) if n else math.nan,
        mean_b=float(b.mean()) if n else math.nan,
        mean_shift=float(d.mean()) if n else math.nan,
        median_shift=float(np.median(d)) if n else math.nan,
        mean_abs_shift=float(np.abs(d).mean()) if n else math.nan,
        sd_shift=float(d.std(ddof=1)) if n > 1 else None,
        spearman=spearman(a, b),
        kendall=kendall(a, b),
        moved=int((np.abs(d) > threshold).sum()),
        share_moved=float((np.abs(d) > threshold).mean()) if n else math.nan,
        spread_a=_mean_or_none(spread_a),
        spread_b=_mean_or_none(spread_b),
        n_spread_a=sum(s is not None for s in spread_a),
        n_spread_b=sum(s is not None for s in spread_b),
        n_noise_checked=len(noise_rows),
        beyond_noise=sum(1 for s, sa, sb in noise_rows if s > NOISE_SIGMAS * math.sqrt(sa * sa + sb * sb)),
    )


def _histogram(d: np.ndarray) -> dict:
    if len(d) == 0:
        return {"edges": [], "counts": []}
    lo, hi = int(np.floor(d.min())), int(np.ceil(d.max()))
    width = max(1, int(math.ceil((hi - lo + 1) / 40)))  # at most about 40 bins
    edges = np.arange(lo, hi + width + 1, width) - 0.5
    counts, edges = np.histogram(d, bins=edges)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


# -- loading ----------------------------------------------------------------------
def _version_id(conn, ref: str) -> int:
    name, version = parse_ref(ref)
    if version is None:
        raise PromptError(f"give a version: {name}@N")
    found = version_id(conn, name, version)
    if found is None:
        raise PromptError(f"{name}@{version} has no judgments in this database")
    return found


def _pick_model(conn, pv_a: int, pv_b: int, model: str | None, a: str, b: str) -> str:
    rows = judgments.models_judged_by_both(conn, pv_a, pv_b)
    if model is not None:
        return model
    if not rows:
        raise ConfigError(f"no paper was judged by both {a} and {b} with the same model")
    if len(rows) > 1:
        listed = ", ".join(f"{m} ({n} papers)" for m, n in rows)
        raise ConfigError(f"{a} and {b} were both run with several models: {listed}; pick one with --model")
    return rows[0][0]


def compare_versions(
    engine: Engine, ref_a: str, ref_b: str, *, model: str | None = None, threshold: float = 10.0, top: int = 10
) -> VersionComparison:
    ref_b = expand_ref(ref_b, ref_a)
    with engine.connect() as conn:
        pv_a, pv_b = _version_id(conn, ref_a), _version_id(conn, ref_b)
        if pv_a == pv_b:
            raise ConfigError(f"{ref_a} and {ref_b} are the same version")
        model = _pick_model(conn, pv_a, pv_b, model, ref_a, ref_b)
        rows = judgments.paired_judgments(conn, pv_a, pv_b, model)
        counts = {pv: judgments.judgment_count(conn, pv, model) for pv in (pv_a, pv_b)}
    if not rows:
        raise ConfigError(f"no paper was judged by both {ref_a} and {ref_b} with model {model}")
    n = len(rows)

    def side(r, off: int) -> dict:
        return {
            "ai_score": r[off],
            "novelty": r[off + 1],
            "rationale": r[off + 2],
            "ai_score_spread": r[off + 3],
            "novelty_spread": r[off + 4],
        }

    pairs = [(r[0], r[1], side(r, 2), side(r, 7)) for r in rows]
    stats, hist = [], {}
    for f in FIELDS:
        a = [pa[f] for _, _, pa, _ in pairs]
        b = [pb[f] for _, _, _, pb in pairs]
        stats.append(
            field_stats(
                f,
                a,
                b,
                [pa[f + "_spread"] for _, _, pa, _ in pairs],
                [pb[f + "_spread"] for _, _, _, pb in pairs],
                threshold,
            )
        )
        d = np.asarray(b, float) - np.asarray(a, float)
        hist[f] = _histogram(d)
    movers = []
    for pid, title, pa, pb in pairs:
        shift = {f: pb[f] - pa[f] for f in FIELDS}
        movers.append(Mover(pid, title, pa, pb, shift, sum(abs(v) for v in shift.values())))
    movers.sort(key=lambda m: (-m.total_shift, m.paper_id))
    return VersionComparison(
        a=ref_a,
        b=ref_b,
        model=model,
        n=n,
        only_a=counts[pv_a] - n,
        only_b=counts[pv_b] - n,
        threshold=threshold,
        fields=stats,
        movers=movers[:top],
        histogram=hist,
    )


# -- output -----------------------------------------------------------------------
def _fmt(value, digits: int = 2, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _rows(c: VersionComparison) -> list[tuple[str, list[str]]]:
    """(label, one value per field) for the summary table."""
    fs = c.fields

    def spread(f: FieldStats) -> str:
        if not (f.n_spread_a or f.n_spread_b):
            return "no samples"
        return f"{_fmt(f.spread_a)} / {_fmt(f.spread_b)}"

    return [
        (f"mean {c.a}", [_fmt(f.mean_a) for f in fs]),
        (f"mean {c.b}", [_fmt(f.mean_b) for f in fs]),
        ("mean shift (B - A)", [_fmt(f.mean_shift, signed=True) for f in fs]),
        ("median shift", [_fmt(f.median_shift, 1, signed=True) for f in fs]),
        ("mean |shift|", [_fmt(f.mean_abs_shift) for f in fs]),
        ("Spearman rho", [_fmt(f.spearman, 3) for f in fs]),
        ("Kendall tau-b", [_fmt(f.kendall, 3) for f in fs]),
        (f"moved > {c.threshold:g} points", [f"{f.moved} ({f.share_moved:.1%})" for f in fs]),
        ("sampling spread A / B", [spread(f) for f in fs]),
        (
            "shift beyond 2x spread",
            [f"{f.beyond_noise} of {f.n_noise_checked}" if f.n_noise_checked else "n/a" for f in fs],
        ),
    ]


def _title(c: VersionComparison) -> str:
    return (
        f"{c.a} -> {c.b} on {c.model}: {c.n} papers judged by both ({c.only_a} only by {c.a}, {c.only_b} only by {c.b})"
    )


def render_rich(c: VersionComparison, console) -> None:
    from rich.table import Table

    table = Table("", *[f.field for f in c.fields], title=_title(c))
    for label, values in _rows(c):
        table.add_row(label, *values)
    console.print(table)
    if not c.movers:
        return
    movers = Table(
        "paper",
        "title",
        "ai_score",
        "novelty",
        "rationale A",
        "rationale B",
        title=f"biggest movers (top {len(c.movers)})",
        show_lines=True,
    )
    for m in c.movers:
        movers.add_row(
            str(m.paper_id),
            m.title,
            f"{m.a['ai_score']} -> {m.b['ai_score']} ({m.shift['ai_score']:+d})",
            f"{m.a['novelty']} -> {m.b['novelty']} ({m.shift['novelty']:+d})",
            m.a["rationale"],
            m.b["rationale"],
        )
    console.print(movers)


def _md_cell(value: str) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(c: VersionComparison) -> str:
    out = [
        f"# Prompt comparison: {c.a} -> {c.b}",
        "",
        f"Model `{c.model}`; {c.n} papers judged by both versions "
        f"({c.only_a} only by {c.a}, {c.only_b} only by {c.b}). Shifts are B - A.",
        "",
        "| | " + " | ".join(f.field for f in c.fields) + " |",
        "|---|" + "---|" * len(c.fields),
    ]
    out += [f"| {_md_cell(label)} | " + " | ".join(_md_cell(v) for v in values) + " |" for label, values in _rows(c)]
    if c.movers:
        out += ["", f"## Biggest movers (top {len(c.movers)})", ""]
        for m in c.movers:
            out += [
                f"### {_md_cell(m.title)} (paper {m.paper_id})",
                "",
                f"- ai_score {m.a['ai_score']} -> {m.b['ai_score']} ({m.shift['ai_score']:+d}), "
                f"novelty {m.a['novelty']} -> {m.b['novelty']} ({m.shift['novelty']:+d})",
                f"- {c.a}: {_md_cell(m.a['rationale'])}",
                f"- {c.b}: {_md_cell(m.b['rationale'])}",
                "",
            ]
    return "\n".join(out).rstrip("\n") + "\n"


def write_json(c: VersionComparison, path: Path) -> None:
    write_atomic(path, json.dumps(c.to_dict(), indent=2, ensure_ascii=False) + "\n")


def write_png(c: VersionComparison, path: Path) -> None:
    """Histograms of the per-paper shifts, one panel per field."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(FIELDS), figsize=(5 * len(FIELDS), 3.6), squeeze=False)
    for ax, f in zip(axes[0], FIELDS):
        h = c.histogram[f]
        if h["counts"]:
            edges = np.asarray(h["edges"])
            ax.bar(
                edges[:-1],
                h["counts"],
                width=np.diff(edges),
                align="edge",
                color="#4878a8",
                edgecolor="white",
                linewidth=0.5,
            )
        for x in (-c.threshold, c.threshold):
            ax.axvline(x, color="#c44e52", linestyle="--", linewidth=1)
        ax.axvline(0, color="black", linewidth=0.8)
        st = c.field(f)
        ax.set_title(f"{f}: mean {_fmt(st.mean_shift, 1, True)}, median {_fmt(st.median_shift, 1, True)}", fontsize=10)
        ax.set_xlabel(f"shift ({c.b} - {c.a})")
        ax.set_ylabel("papers")
    fig.suptitle(f"{c.a} -> {c.b} on {c.model} ({c.n} papers)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
