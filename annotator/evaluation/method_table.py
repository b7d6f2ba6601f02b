"""``eval compare`` over N results: one table of agreement and cost, one row per run.

Each run (an ``eval run`` result) becomes a row: Spearman, AUROC and QWK with
their 95 % intervals for every label, the papers that failed, and the calls,
tokens and dollars per judged paper, read from the stored calls of that prompt
version and model on the suite's papers. The human ceiling and the baselines of
the first run are rows of their own, so a method is read against what a single
reviewer and a text-only regression reach on the same papers.

Results of several suites (say ``iclr2022`` and ``iclr2026``) share a row per prompt
version and model, with one column per suite and metric (``spearman_ai iclr2026``);
the ceiling and baseline rows then carry each suite's figures, and calls, tokens and
dollars per paper are summed over the suites.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from annotator.db.queries import judgments
from annotator.judge.prices import cost_usd

from .metrics import MetricValue
from .results import EvalResult

TABLE_KINDS = ("spearman", "pairacc", "auroc", "qwk")  # pairacc: pairwise accuracy (agreement)


class Usage(BaseModel):
    """Stored calls of one run's prompt version and model on its suite's papers."""

    papers: int  # papers with at least one call
    calls: int  # HTTP requests (answers taken from stored calls not counted)
    failed_calls: int  # requests without a usable reply (HTTP errors, invalid replies)
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float  # as stored, or at ``price_model``'s prices when asked

    def per_paper(self, value: float) -> float | None:
        return value / self.papers if self.papers else None


class MethodRow(BaseModel):
    name: str
    method: str | None = None
    kind: str = "run"  # run | ceiling | baseline
    n_papers: int = 0
    failed_papers: int = 0
    metrics: dict[str, MetricValue] = {}  # "<kind>_<label>", e.g. spearman_ai
    usage: Usage | None = None


class MethodTable(BaseModel):
    labels: list[str]
    rows: list[MethodRow]
    price_model: str | None = None
    notes: list[str] = []

    suites: list[str] = []  # two or more: metric keys carry the suite ("spearman_ai iclr2026")

    def columns(self) -> list[str]:
        tails = [f" {s}" for s in self.suites] if len(self.suites) > 1 else [""]
        return [
            f"{k}_{label}{t}"
            for label in self.labels
            for k in TABLE_KINDS
            for t in tails
            if any(f"{k}_{label}{t}" in r.metrics for r in self.rows)
        ]

    def to_markdown(self) -> str:
        cols = self.columns()
        cost = f"$/paper ({self.price_model})" if self.price_model else "$/paper"
        head = ["run", "method", *cols, "failed", "calls/paper", "tokens/paper", cost]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.rows:
            u = r.usage
            failed = "—" if r.kind != "run" else f"{r.failed_papers}/{r.n_papers}"
            if u is not None and u.failed_calls:
                failed += f" ({u.failed_calls} calls)"
            cells = [
                r.name,
                r.method or "—",
                *[_fmt(r.metrics.get(c)) for c in cols],
                failed,
                _num(u.per_paper(u.calls) if u else None, "{:.1f}"),
                _num(u.per_paper(u.prompt_tokens + u.completion_tokens) if u else None, "{:,.0f}"),
                _num(u.per_paper(u.cost_usd) if u else None, "{:.6f}"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines + [""] + [f"- {n}" for n in self.notes]) + "\n"


def _fmt(m: MetricValue | None) -> str:
    if m is None or m.value is None:
        return "—"
    if m.ci_low is None or m.ci_high is None:
        return f"{m.value:.3f}"
    return f"{m.value:.3f} [{m.ci_low:.2f}, {m.ci_high:.2f}]"


def _num(v: float | None, fmt: str) -> str:
    return "—" if v is None else fmt.format(v)


def run_usage(engine: Engine, result: EvalResult, price_model: str | None = None) -> tuple[Usage, str | None] | None:
    """Calls, tokens and cost of a result's run from the database, and its judging method."""
    p = result.provenance
    if not (p.prompt_name and p.prompt_version and p.model and p.suite):
        return None
    run = (p.suite, p.prompt_name, p.prompt_version, p.model)
    with engine.connect() as conn:
        row = judgments.suite_call_usage(conn, *run)
        methods = judgments.suite_judgment_methods(conn, *run)
    if not row[0]:
        return None
    pt, ct = int(row[3] or 0), int(row[4] or 0)
    dollars = cost_usd(price_model, pt, ct) if price_model else float(row[5] or 0.0)
    usage = Usage(
        papers=int(row[0]),
        calls=int(row[1] or 0),
        failed_calls=int(row[2] or 0),
        prompt_tokens=pt,
        completion_tokens=ct,
        cost_usd=dollars,
    )
    if not methods:
        return usage, None
    method, params_json = methods[0][0], methods[0][1]
    samples = int(json.loads(params_json or "{}").get("samples") or 1)
    return usage, method if samples == 1 else f"{method} x{samples}"


def _picked(metrics: dict[str, MetricValue], label: str, tail: str = "") -> dict[str, MetricValue]:
    return {f"{k}_{label}{tail}": metrics[k] for k in TABLE_KINDS if k in metrics}


def add_usage(a: Usage | None, b: Usage) -> Usage:
    if a is None:
        return b
    return Usage(**{f: getattr(a, f) + getattr(b, f) for f in Usage.model_fields})


def method_table(
    results: Sequence[EvalResult],
    *,
    names: Sequence[str] | None = None,
    engine: Engine | None = None,
    price_model: str | None = None,
) -> MethodTable:
    """One row per run (per prompt version and model when the runs span several suites),
    then each suite's human ceiling and baselines."""
    if not results:
        raise ValueError("no results to compare")
    suites = list(dict.fromkeys(r.suite or "" for r in results))
    several = len(suites) > 1
    labels = list(dict.fromkeys(label for r in results for label in r.labels))
    notes = []
    if len({r.provenance.sample_hash for r in results}) > 1 and not several:
        notes.append("the runs judged different papers (sample_hash differs): intervals are not paired")
    if several:
        notes.append(
            "columns per suite: " + ", ".join(suites) + "; each run's row holds the suites "
            "it was run on, calls and cost summed over them"
        )
    rows: dict[str, MethodRow] = {}
    for i, res in enumerate(results):
        p = res.provenance
        name = (names[i] if names else None) or f"{p.prompt_name}@{p.prompt_version} {p.model}"
        key = name if several else f"{i}\x1f{name}"
        row = rows.setdefault(key, MethodRow(name=name))
        row.n_papers += res.counts.n_total
        row.failed_papers += sum(1 for x in res.papers if x.status in ("invalid", "missing"))
        tail = f" {res.suite}" if several else ""
        for label, lres in res.labels.items():
            row.metrics.update(_picked(lres.metrics, label, tail))
            if lres.agreement is not None:
                row.metrics[f"pairacc_{label}{tail}"] = lres.agreement.pairwise_accuracy.judge
        found = run_usage(engine, res, price_model) if engine is not None else None
        if found is not None:
            row.usage = add_usage(row.usage, found[0])
            row.method = row.method or found[1]
    if engine is None or any(r.usage is None for r in rows.values()):
        notes.append("calls, tokens and cost come from the database the runs were stored in; '—' where it has none")
    ceiling = MethodRow(name="human ceiling (one reviewer vs the rest)", kind="ceiling")
    baselines: dict[str, MethodRow] = {}
    firsts = {r.suite or "": r for r in reversed(results)}
    for suite in suites:
        tail = f" {suite}" if several else ""
        for label, lres in firsts[suite].labels.items():
            if lres.ceiling is not None:
                ceiling.metrics[f"spearman_{label}{tail}"] = lres.ceiling.spearman
            human = lres.agreement.pairwise_accuracy.human if lres.agreement is not None else None
            if human is not None:
                ceiling.metrics[f"pairacc_{label}{tail}"] = human
            for bname, b in lres.baselines.items():
                brow = baselines.setdefault(bname, MethodRow(name=f"baseline: {bname}", kind="baseline"))
                brow.metrics.update(_picked(b.metrics, label, tail))
    out = list(rows.values()) + [r for r in (ceiling, *baselines.values()) if r.metrics]
    return MethodTable(labels=labels, rows=out, price_model=price_model, notes=notes, suites=suites if several else [])
