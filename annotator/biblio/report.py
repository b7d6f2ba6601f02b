"""Do LLM scores track bibliometrics? Spearman correlations with bootstrap intervals.

Two questions, answered from the database (``biblio_report(engine)``) or from a
labelled JSONL file such as the ICLR 2017/2018 file with real citation counts
(``biblio_report(engine, data=...)`` or ``suite_file=...``):

**Papers: AI score against citations, within publication year.** Older papers
have had longer to collect citations, so papers are only compared with papers of
the same year. ``pooled_within_year``: in each year both the score and
log(1 + citations) become scaled ranks (rank - 0.5) / n_year, and the Pearson
correlation of the pooled scaled ranks is reported (with one year it is exactly
Spearman's rho; ranks make the log scale immaterial, it is there for the plots).
``per_year``: Spearman's rho in each year (``scipy.stats.spearmanr`` gives the
same numbers). ``overall``: one Spearman over all years, for reference only.

**Authors: mean AI score against h-index.** Authors with at least
``min_papers`` judged papers and an imported h-index (the snapshot that counts,
see ``snapshots``).

Intervals are 95% percentile bootstraps (pairs resampled; within each year for
the pooled statistic), seeded, 2,000 draws by default.

Citation counts of 0 are treated as missing by default: in the ICLR file they
are mostly failed look-ups (see the evaluation data's README; e.g. a highly
cited accepted paper has 0). ``keep_zero_citations=True`` keeps them. Papers
without a year, a score or a count are left out and counted in ``dropped``.

Predictions in file mode are a column of the file (``score_field``, e.g.
``rating_mean`` as a stand-in) or the stored judgments of the file's papers
ingested as eval papers (matched by ``external_id``/key ``ext:<id>``, then
normalised title).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from annotator.biblio.bootstrap import DEFAULT_BOOT, DEFAULT_SEED, pooled_within, spearman_ci
from annotator.biblio.match import year_of as _year
from annotator.biblio.report_file import FileSpec, file_spec, read_file
from annotator.biblio.scatter import Points, scatter_plots
from annotator.biblio.selection import JudgmentSet, resolve
from annotator.db.queries.bibliometrics import author_scores_and_h_index, judged_paper_citations
from annotator.db.queries.papers import eval_paper_keys, judged_column
from annotator.errors import InputError
from annotator.evaluation.items import data_hash
from annotator.evaluation.stats import spearman
from annotator.evaluation.suites import load_suite
from annotator.ingest.records import normalise_text
from annotator.provenance import code_version

MIN_YEAR_N = 3  # fewer papers than this in a year: no per-year rho


@dataclass
class BiblioReport:
    data: dict
    points: dict[str, Points] = field(default_factory=dict)

    def write_json(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def write_markdown(self, path: Path | str) -> None:
        path = Path(path)
        path.write_text(to_markdown(self.data, relative_to=path.parent), encoding="utf-8")

    def write_pngs(self, folder: Path | str) -> list[str]:
        paths = scatter_plots(self.points, self.data, Path(folder))
        self.data["plots"] = paths
        return paths


def _ci(value: tuple[float, float] | None) -> list[float] | None:
    return None if value is None else [round(value[0], 4), round(value[1], 4)]


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def correlate_within_year(scores, citations, years, *, n_boot: int = DEFAULT_BOOT, seed: int = DEFAULT_SEED) -> dict:
    """Pooled within-year rank correlation, per-year Spearman and the overall one."""
    x = np.asarray(scores, float)
    y = np.log1p(np.asarray(citations, float))
    g = np.asarray(years)
    per_year = []
    for year in sorted(set(g.tolist())):
        mask = g == year
        n = int(mask.sum())
        rho = spearman(x[mask], y[mask]) if n >= MIN_YEAR_N else None
        ci = spearman_ci(x[mask], y[mask], n_boot=n_boot, seed=seed) if rho is not None else None
        per_year.append({"year": year, "n": n, "rho": _r(rho), "ci": _ci(ci)})
    pooled = pooled_within(x, y, g) if x.size >= MIN_YEAR_N else None
    return {
        "n": int(x.size),
        "pooled_within_year": {
            "rho": _r(pooled),
            "n": int(x.size),
            "ci": _ci(spearman_ci(x, y, strata=g, n_boot=n_boot, seed=seed)) if pooled is not None else None,
        },
        "per_year": per_year,
        "overall": {
            "rho": _r(spearman(x, y)),
            "ci": _ci(spearman_ci(x, y, n_boot=n_boot, seed=seed)),
            "n": int(x.size),
        },
    }


# -- rows from the database ------------------------------------------------------
def _paper_rows(conn, jset: JudgmentSet, keep_zero: bool) -> tuple[list[tuple], dict]:
    rows = judged_paper_citations(conn, jset.prompt_version_id, jset.model)
    return _keep(((pid, _year(pub), ai, c) for pid, pub, ai, c in rows), keep_zero)


def _keep(rows, keep_zero: bool) -> tuple[list[tuple], dict]:
    dropped = {"no_score": 0, "no_citations": 0, "zero_citations": 0, "no_year": 0}
    kept = []
    for key, year, score, cites in rows:
        if score is None:
            dropped["no_score"] += 1
        elif cites is None:
            dropped["no_citations"] += 1
        elif cites == 0 and not keep_zero:
            dropped["zero_citations"] += 1
        elif year is None:
            dropped["no_year"] += 1
        else:
            kept.append((key, year, float(score), float(cites)))
    return kept, dropped


def _author_rows(conn, jset: JudgmentSet, min_papers: int, source: str | None) -> Sequence[tuple]:
    return author_scores_and_h_index(conn, jset.prompt_version_id, jset.model, max(1, min_papers), source)


def _stored_scores(conn, rows: list[dict], jset: JudgmentSet | None) -> tuple[dict, int]:
    """{row id: ai_score} from judgments of eval papers; and how many rows matched a paper."""
    if jset is None or jset.model is None:
        return {}, 0
    by_ext: dict[str, int] = {}
    by_title: dict[str, int] = {}
    for stored, ext, key, norm in eval_paper_keys(conn):
        if ext:
            by_ext.setdefault(ext, stored)
        if key and key.startswith("ext:"):
            by_ext.setdefault(key[4:], stored)
        by_title.setdefault(norm, stored)
    paper_of = {}
    for r in rows:
        pid = by_ext.get(r["id"]) if r["id"] else None
        if pid is None and r["title"]:
            pid = by_title.get(normalise_text(r["title"]))
        if pid is not None:
            paper_of[r["id"]] = pid
    scores = {}
    ids = sorted(set(paper_of.values()))
    for start in range(0, len(ids), 500):
        scores.update(judged_column(conn, "ai_score", jset.prompt_version_id, jset.model, ids[start : start + 500]))
    return {rid: scores[pid] for rid, pid in paper_of.items() if pid in scores}, len(paper_of)


# -- the report ------------------------------------------------------------------
def biblio_report(
    engine: Engine | None = None,
    *,
    data: Path | str | None = None,
    suite_file: Path | str | None = None,
    score_field: str | None = None,
    id_field: str | None = None,
    year_field: str | None = None,
    citations_field: str | None = None,
    keep_zero_citations: bool | None = None,
    prompt: str | None = None,
    model: str | None = None,
    min_papers: int = 3,
    metrics_source: str | None = None,
    n_boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
) -> BiblioReport:
    """The correlation report; see the module docstring. ``data``/``suite_file``: file mode."""
    spec = file_spec(data, suite_file, score_field, id_field, year_field, citations_field)
    if spec is not None and keep_zero_citations is None and suite_file is not None:
        cit = load_suite(suite_file).citations
        keep_zero_citations = not cit.zero_is_missing if cit else False
    keep_zero = bool(keep_zero_citations)
    jset = None
    if engine is not None and (spec is None or spec.score_field is None):
        with engine.connect() as conn:
            jset = resolve(conn, prompt, model)
    out: dict = {
        "kind": "biblio_report",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version().model_dump(),
        "settings": {
            "n_boot": n_boot,
            "seed": seed,
            "level": 0.95,
            "min_papers": min_papers,
            "zero_citations": "kept" if keep_zero else "missing",
            "metrics_source": metrics_source,
            "min_year_n": MIN_YEAR_N,
        },
        "judgments": jset.to_dict() if jset else None,
        "papers": None,
        "authors": None,
        "plots": [],
    }
    report = BiblioReport(out)
    if spec is not None:
        _file_section(report, engine, spec, jset, keep_zero, n_boot, seed)
        return report
    if engine is None:
        raise InputError("give a database, a data file or a suite file")
    if jset is None or jset.model is None:
        out["notes"] = ["nothing has been judged yet: run annotate first"]
        return report
    with engine.connect() as conn:
        kept, dropped = _paper_rows(conn, jset, keep_zero)
        authors = _author_rows(conn, jset, min_papers, metrics_source)
    section = {
        "source": "database",
        "score": "ai_score",
        "citations": "paper_metrics (latest)",
        "dropped": dropped,
        **correlate_within_year(
            [k[2] for k in kept], [k[3] for k in kept], [k[1] for k in kept], n_boot=n_boot, seed=seed
        ),
    }
    out["papers"] = section
    report.points["papers"] = Points(
        [k[2] for k in kept], [math.log1p(k[3]) for k in kept], [k[1] for k in kept], "AI score", "log(1 + citations)"
    )
    x = [float(a[3]) for a in authors]
    y = [float(a[4]) for a in authors]
    out["authors"] = {
        "n": len(authors),
        "score": "mean ai_score",
        "metric": "h_index",
        "min_papers": min_papers,
        "rho": _r(spearman(x, y)),
        "ci": _ci(spearman_ci(x, y, n_boot=n_boot, seed=seed)),
    }
    report.points["authors"] = Points(x, y, [], "mean AI score of the author's papers", "h-index")
    return report


def _file_section(report: BiblioReport, engine, spec: FileSpec, jset, keep_zero, n_boot, seed) -> None:
    rows = read_file(spec)
    matched = None
    if spec.score_field is None:
        if engine is None:
            raise InputError("give --score-field, or a database with judged eval papers")
        with engine.connect() as conn:
            scores, matched = _stored_scores(conn, rows, jset)
        for r in rows:
            r["score"] = scores.get(r["id"])
    kept, dropped = _keep(((r["id"], r["year"], r["score"], r["citations"]) for r in rows), keep_zero)
    report.data["papers"] = {
        "source": "file",
        "data": spec.path.name,
        "data_sha256": data_hash(spec.path),
        "suite": spec.suite_name,
        "rows": len(rows),
        "score": spec.score_field or "ai_score (stored judgments of eval papers)",
        "citations": spec.citations_field,
        "matched_papers": matched,
        "dropped": dropped,
        **correlate_within_year(
            [k[2] for k in kept], [k[3] for k in kept], [k[1] for k in kept], n_boot=n_boot, seed=seed
        ),
    }
    report.points["papers"] = Points(
        [k[2] for k in kept],
        [math.log1p(k[3]) for k in kept],
        [k[1] for k in kept],
        spec.score_field or "AI score",
        f"log(1 + {spec.citations_field})",
    )


# -- Markdown --------------------------------------------------------------------
def _fmt(rho: float | None, ci: list[float] | None) -> str:
    if rho is None:
        return "n/a"
    return f"{rho:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "")


def to_markdown(data: dict, relative_to: Path | None = None) -> str:
    s = data["settings"]
    lines = ["# Bibliometrics report", ""]
    cv = data.get("code_version") or {}
    j = data.get("judgments")
    lines.append(
        f"Generated {data['generated_at']} by annotator {cv.get('version', '?')}"
        + (f" ({(cv.get('commit') or '')[:12]}{', dirty' if cv.get('dirty') else ''})" if cv.get("commit") else "")
        + "."
    )
    if j:
        lines.append(f"Judgments: {j['prompt']} (hash {j['prompt_hash'][:12]}), model {j['model']}.")
    lines.append(
        f"Spearman's rho with 95% bootstrap intervals ({s['n_boot']} draws, seed {s['seed']}); "
        f"citation counts of 0 are {'kept' if s['zero_citations'] == 'kept' else 'treated as missing'}."
    )
    lines.append("")
    for note in data.get("notes") or []:
        lines += [f"> {note}", ""]
    p = data.get("papers")
    if p:
        where = f"`{p['data']}`" if p["source"] == "file" else "the database"
        lines += [f"## Papers: {p['score']} against citations, within publication year ({where})", ""]
        lines.append(
            f"{p['n']} papers used; left out: "
            + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in p["dropped"].items())
            + "."
        )
        if p.get("matched_papers") is not None:
            lines.append(f"{p['matched_papers']} of {p['rows']} rows matched a stored eval paper.")
        lines += ["", "| | n | rho [95% CI] |", "|---|---|---|"]
        pw = p["pooled_within_year"]
        lines.append(f"| pooled within-year ranks | {pw['n']} | {_fmt(pw['rho'], pw['ci'])} |")
        for y in p["per_year"]:
            lines.append(f"| {y['year']} | {y['n']} | {_fmt(y['rho'], y['ci'])} |")
        o = p["overall"]
        lines.append(f"| all years, ignoring year | {o['n']} | {_fmt(o['rho'], o['ci'])} |")
        lines.append("")
    a = data.get("authors")
    if a:
        lines += [
            "## Authors: mean AI score against h-index",
            "",
            f"{a['n']} authors with at least {a['min_papers']} judged papers and an h-index: "
            f"rho {_fmt(a['rho'], a['ci'])}.",
            "",
        ]
    for plot in data.get("plots") or []:
        link = os.path.relpath(plot, relative_to) if relative_to else plot
        lines.append(f"![{Path(plot).stem}]({Path(link).as_posix()})")
    return "\n".join(lines).rstrip() + "\n"
