"""Writers for an :class:`EvalResult`: Markdown (a GitHub job summary), JSON, JUnit XML, PNGs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from annotator.files import write_atomic

from .agreement import NO_DECISION
from .baselines import CONSTANT, TFIDF
from .metrics import MetricValue
from .results import EvalResult, ThresholdCheck

__all__ = ["ReportFiles", "to_markdown", "to_json", "to_junit_xml", "write_reports"]

PASS, FAIL = "✅ pass", "❌ fail"


def _esc(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _num(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _mv(mv: MetricValue | None, ci: bool = True) -> str:
    if mv is None:
        return "—"
    if mv.value is None:
        return "undefined"
    if ci and mv.ci_low is not None:
        return f"{mv.value:.3f} [{mv.ci_low:.3f}, {mv.ci_high:.3f}]"
    return f"{mv.value:.3f}"


def _limit(check: ThresholdCheck | None) -> tuple[str, str]:
    if check is None:
        return "", ""
    op = "≥" if check.direction == "min" else "≤"
    return f"{op} {check.limit:g}", PASS if check.passed else FAIL


def _provenance_rows(result: EvalResult) -> list[str]:
    p = result.provenance
    params = ", ".join(f"{k}={v}" for k, v in p.model_params.items())
    prompt = (
        " ".join(
            x
            for x in (
                f"`{p.prompt_name}`" if p.prompt_name else "",
                f"v{p.prompt_version}" if p.prompt_version else "",
                f"(`{p.prompt_hash[:16]}`)" if p.prompt_hash else "",
            )
            if x
        )
        or "—"
    )
    data = f"`{p.data_path}`" if p.data_path else "—"
    if p.data_hash:
        data += f" sha256 `{p.data_hash[:16]}`"
    sample = (
        f"{result.counts.n_total} papers"
        + (f", seed {p.sample_seed}" if p.sample_seed is not None else "")
        + (f", ids sha256 `{p.sample_hash[:16]}`" if p.sample_hash else "")
    )
    code = "—"
    if p.code_commit:
        code = f"`{p.code_commit[:12]}`" + {True: " (dirty)", False: "", None: ""}[p.code_dirty]
    rows = [
        ("model", (f"`{p.model}`" if p.model else "—") + (f" ({params})" if params else "")),
        ("prompt", prompt),
        ("eval data", data),
        ("sample", sample),
        ("code", code),
        ("date", p.date or "—"),
        ("bootstrap", f"{p.n_boot} resamples, seed {p.seed}, 95% percentile intervals"),
    ]
    return ["| | |", "|---|---|"] + [f"| {k} | {_esc(v)} |" for k, v in rows]


def _metric_rows(result: EvalResult) -> list[str]:
    checks = {t.name: t for t in result.thresholds}
    lines = [
        "| metric | ours [95% CI] | human ceiling | TF-IDF baseline | constant | threshold | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, res in result.labels.items():
        for kind, mv in res.metrics.items():
            name = f"{kind}_{label}"
            ceiling = _mv(res.ceiling.spearman) if (kind == "spearman" and res.ceiling) else "—"
            tfidf = res.baselines.get(TFIDF)
            const = res.baselines.get(CONSTANT)
            limit, status = _limit(checks.get(name))
            lines.append(
                f"| {name} | {_mv(mv)} | {ceiling} | "
                f"{_mv(tfidf.metrics.get(kind), ci=False) if tfidf else '—'} | "
                f"{_mv(const.metrics.get(kind), ci=False) if const else '—'} | "
                f"{limit} | {status} |"
            )
    c = result.counts
    limit, status = _limit(checks.get("max_missing_rate"))
    rate = "—" if c.missing_rate is None else f"{c.missing_rate:.1%} ({c.n_missing} of {c.n_total})"
    lines.append(f"| missing_rate | {rate} | | | | {limit} | {status} |")
    return lines


def _count_rows(result: EvalResult) -> list[str]:
    lines = ["| label | prediction | gold label | papers with gold | scored | missing |", "|---|---|---|---|---|---|"]
    for label, res in result.labels.items():
        c = res.counts
        scale = f" ({res.scale[0]:g}-{res.scale[1]:g})" if res.scale else ""
        lines.append(
            f"| {label} | {res.pred_key} | {_esc(res.gold_field)}{scale} | {c.n_total} | {c.n_scored} | {c.n_missing} |"
        )
    return lines


def _breakdown_rows(result: EvalResult) -> list[str]:
    labels = list(result.labels)
    has_auroc = any("auroc" in g.metrics.get("ai", {}) for g in result.breakdown)
    head = ["group", "papers"] + [f"spearman_{lb}" for lb in labels] + (["auroc_ai"] if has_auroc else []) + ["missing"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in result.breakdown:
        cells = [_esc(g.name), str(g.n)]
        cells += [_mv(g.metrics[lb].get("spearman")) for lb in labels]
        if has_auroc:
            cells.append(_mv(g.metrics["ai"].get("auroc")))
        ai = g.counts.get("ai")
        cells.append(str(ai.n_missing) if ai else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _agreement_rows(result: EvalResult) -> list[str]:
    """Each agreement figure of the judge beside one reviewer's against the others."""
    rows = [(lb, r.agreement) for lb, r in result.labels.items() if r.agreement is not None]
    if not rows:
        return []
    lines = ["| label | figure | judge [95% CI] | one reviewer vs the others |", "|---|---|---|---|"]
    for lb, a in rows:
        figures = [
            (f"pairwise accuracy (gold differs by ≥ {a.margin:g})", a.pairwise_accuracy),
            ("Krippendorff's alpha (interval), vs each reviewer", a.alpha),
        ]
        if a.run_to_run is not None:
            figures.append(("run to run: mean abs. difference, 0-100 (lower is steadier)", a.run_to_run))
        if a.between_runs is not None:
            figures.append(("between runs: mean abs. difference, 0-100 (lower is steadier)", a.between_runs))
        for name, f in figures:
            lines.append(f"| {lb} | {name} | {_mv(f.judge)} | {_mv(f.human)} |")
    return lines


def _agreement_methods(result: EvalResult) -> list[str]:
    found = next((r.agreement for r in result.labels.values() if r.agreement is not None), None)
    if found is None:
        return []
    out = [
        f"- Pairwise accuracy: {found.pairwise_accuracy.method}; the margin is a tenth of the "
        "label's scale. Human: " + (found.pairwise_accuracy.human_method or "—") + ".",
        f"- Alpha: {found.alpha.method}. Human: {found.alpha.human_method or '—'}.",
    ]
    runs = next(
        (
            r.agreement.run_to_run
            for r in result.labels.values()
            if r.agreement is not None and r.agreement.run_to_run is not None
        ),
        None,
    )
    if runs is not None:
        out.append(f"- Run to run: {runs.method}. Human: {runs.human_method or '—'}.")
    else:
        out.append(
            "- Run to run: not measured (one reply per paper); a version with `samples: K` "
            "reports the spread between its samples."
        )
    repeated = next(
        (
            r.agreement.between_runs
            for r in result.labels.values()
            if r.agreement is not None and r.agreement.between_runs is not None
        ),
        None,
    )
    if repeated is not None:
        out.append(f"- Between runs (`--repeats N`): {repeated.method}. Human: {repeated.human_method or '—'}.")
    return out


def _calibration_rows(result: EvalResult) -> list[str]:
    rows = [(lb, r.calibration) for lb, r in result.labels.items() if r.calibration]
    if not rows:
        return []
    lines = [
        "| label | train / test | MAE raw | MAE linear | MAE isotonic | RMSE raw | RMSE linear | RMSE isotonic |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lb, cal in rows:
        lines.append(
            f"| {lb} | {cal.n_train} / {cal.n_test} | {_num(cal.before['mae'])} | "
            f"{_num(cal.linear['mae'])} | {_num(cal.after['mae'])} | "
            f"{_num(cal.before['rmse'])} | {_num(cal.linear['rmse'])} | "
            f"{_num(cal.after['rmse'])} |"
        )
    return lines


def to_markdown(result: EvalResult) -> str:
    """A report that fits a GitHub job summary ($GITHUB_STEP_SUMMARY)."""
    n_checks, failed = len(result.thresholds), result.failures
    if not n_checks:
        verdict = "no thresholds"
    elif failed:
        verdict = f"❌ {len(failed)} of {n_checks} thresholds breached"
    else:
        verdict = f"✅ all {n_checks} thresholds passed"
    out = [f"## Evaluation: {_esc(result.suite or 'predictions')} — {verdict}", ""]
    out += _provenance_rows(result) + [""]
    if failed:
        out += [f"- ❌ {_esc(t.message)}" for t in failed] + [""]
    out += ["### Metrics", ""] + _metric_rows(result) + [""] + _count_rows(result) + [""]
    out += [f"- {_esc(n)}" for n in result.notes if n.startswith(NO_DECISION)] + [""]
    agreement = _agreement_rows(result)
    if agreement:
        out += ["### Agreement as reviewers measure it", ""] + agreement + [""]
    if result.breakdown:
        out += ["### By venue and year", ""] + _breakdown_rows(result) + [""]
    cal = _calibration_rows(result)
    if cal:
        out += ["### Calibration (fit on one half, tested on the other)", ""] + cal + [""]
    if result.anchors:
        a = result.anchors
        out += [
            "### Anchors (compared with every paper, never scored)",
            "",
            f"{len(a['ids'])} anchor papers from suite {_esc(a['suite'])} (k {a['k']}, seed "
            f"{a['seed']}); {a['left_out']} of this suite's papers were left out of the sample "
            "because they are anchors: " + ", ".join(f"`{i}`" for i in a["ids"]),
            "",
        ]
    if result.fitted_head:
        out += ["### Fitted head (held out: no paper scored by a head fitted on it)", ""]
        out += [f"- {_esc(n)}" for n in result.notes if "head" in n] + [""]
    s = result.settings
    binning = (
        "quantile bins of each side"
        if s.get("binning", "quantile") == "quantile"
        else "equal-width bins over 0-100 and the label scale"
    )
    out += [
        "<details><summary>Methods</summary>",
        "",
        "- Correlations use the raw 0-100 score. MAE/RMSE are on the label's scale after a "
        "least-squares line from score to label on the same papers.",
        f"- QWK: quadratic weighted kappa on {s.get('bins', 5)} {binning}.",
        "- AUROC: the score as a predictor of accept vs reject (papers with a decision).",
        "- Intervals: 95% percentile bootstrap over papers.",
        "- Human ceiling: one random reviewer against the mean of the other reviewers "
        "(leave-one-reviewer-out Spearman, averaged over draws), on the same papers.",
        "- Constant: one score for every paper; its correlations are undefined.",
        *_agreement_methods(result),
        *[f"- {_esc(n)}" for n in result.notes if not n.startswith(NO_DECISION)],
        "",
        "</details>",
        "",
    ]
    return "\n".join(out)


def to_json(result: EvalResult) -> str:
    return result.model_dump_json(indent=2)


def to_junit_xml(result: EvalResult) -> str:
    """One testcase per threshold; a ``<failure>`` for each breached one."""
    suite_name = f"eval.{result.suite or 'predictions'}"
    failures = str(len(result.failures))
    root = ET.Element(
        "testsuites", name="annotator eval", tests=str(len(result.thresholds)), failures=failures, errors="0", time="0"
    )
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite_name,
        tests=str(len(result.thresholds)),
        failures=failures,
        errors="0",
        skipped="0",
        time="0",
        timestamp=(result.provenance.date or "")[:19],
    )
    props = ET.SubElement(ts, "properties")
    for key, value in result.provenance.model_dump(exclude={"model_params", "extra"}).items():
        if value is not None:
            ET.SubElement(props, "property", name=key, value=str(value))
    for check in result.thresholds:
        op = ">=" if check.direction == "min" else "<="
        case = ET.SubElement(ts, "testcase", classname=suite_name, name=f"{check.name} {op} {check.limit:g}", time="0")
        if not check.passed:
            fail = ET.SubElement(case, "failure", message=check.message, type="ThresholdBreached")
            fail.text = check.message
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


@dataclass(frozen=True)
class ReportFiles:
    """The files :func:`write_reports` wrote; ``plots`` by name (``ai_scatter``...)."""

    markdown: Path
    json: Path
    junit: Path
    plots: dict[str, Path] = field(default_factory=dict)


def write_reports(result: EvalResult, out_dir: Path | str, *, plots: bool = True) -> ReportFiles:
    """Write report.md, result.json, junit.xml (and PNG plots) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(markdown=out / "report.md", json=out / "result.json", junit=out / "junit.xml")
    # each file replaced whole: a run killed while writing leaves the previous report
    write_atomic(files.markdown, to_markdown(result))
    write_atomic(files.json, to_json(result) + "\n")
    write_atomic(files.junit, to_junit_xml(result))
    if plots:
        from .figures import write_plots  # matplotlib, only when plots are wanted

        files.plots.update((p.stem, p) for p in write_plots(result, out))
    return files
