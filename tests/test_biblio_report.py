"""The bibliometrics correlation report: the ICLR 2017/2018 file with real citations, and the database."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pearsonr, rankdata, spearmanr
from typer.testing import CliRunner

from annotator.biblio.bootstrap import pooled_within, spearman_ci
from annotator.biblio.report import biblio_report
from annotator.biblio.save import import_paths
from annotator.ingest import ingest_paths
from annotator.jobs.annotate import AnnotateOptions, annotate

ICLR = Path(__file__).resolve().parents[1] / "evals" / "data" / "iclr2017_2018_ratings_citations.jsonl"


def _rows():
    return [json.loads(line) for line in ICLR.read_text(encoding="utf-8").splitlines() if line.strip()]


def _scipy_by_year(rows, score, keep_zero=False):
    out = {}
    for year in (2017, 2018):
        pairs = [
            (r[score], r["citations"])
            for r in rows
            if r["year"] == year
            and r[score] is not None
            and r["citations"] is not None
            and (keep_zero or r["citations"] > 0)
        ]
        out[year] = (len(pairs), spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic)
    return out


def test_iclr_rating_against_citations_within_year_matches_scipy():
    rows = _rows()
    report = biblio_report(data=ICLR, score_field="rating_mean", n_boot=500)
    p = report.data["papers"]
    expected = _scipy_by_year(rows, "rating_mean")
    got = {y["year"]: (y["n"], y["rho"]) for y in p["per_year"]}
    for year, (n, rho) in expected.items():
        assert got[year][0] == n and got[year][1] == pytest.approx(rho, abs=1e-4)
        ci = next(y["ci"] for y in p["per_year"] if y["year"] == year)
        assert ci[0] < rho < ci[1]
    assert 0.4 < p["pooled_within_year"]["rho"] < 0.7
    # citation 0 is missing by default (the README's caveat), kept on request
    zeros = sum(1 for r in rows if r["citations"] == 0 and r["rating_mean"] is not None)
    assert p["dropped"]["zero_citations"] == zeros > 100
    assert p["dropped"]["no_score"] == sum(1 for r in rows if r["rating_mean"] is None)
    assert p["n"] == sum(n for n, _ in expected.values())
    kept = biblio_report(data=ICLR, score_field="rating_mean", keep_zero_citations=True, n_boot=200)
    expected_kept = _scipy_by_year(rows, "rating_mean", keep_zero=True)
    for y in kept.data["papers"]["per_year"]:
        assert y["rho"] == pytest.approx(expected_kept[y["year"]][1], abs=1e-4)
    assert kept.data["settings"]["zero_citations"] == "kept"


def test_pooled_within_year_is_spearman_for_one_year_and_scaled_ranks_otherwise():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=60), rng.normal(size=60)
    y[:30] += x[:30]
    assert pooled_within(x, y, [2020] * 60) == pytest.approx(spearmanr(x, y).statistic)
    years = [2019] * 25 + [2020] * 35
    u = np.concatenate([(rankdata(x[:25]) - 0.5) / 25, (rankdata(x[25:]) - 0.5) / 35])
    v = np.concatenate([(rankdata(y[:25]) - 0.5) / 25, (rankdata(y[25:]) - 0.5) / 35])
    assert pooled_within(x, y, years) == pytest.approx(pearsonr(u, v).statistic)
    a = spearman_ci(x, y, strata=years, n_boot=300, seed=3)
    assert a == spearman_ci(x, y, strata=years, n_boot=300, seed=3)
    assert a[0] < pooled_within(x, y, years) < a[1]
    assert spearman_ci(x[:3], y[:3]) is None


def test_report_files(tmp_path):
    report = biblio_report(data=ICLR, score_field="rating_mean", n_boot=200)
    pngs = report.write_pngs(tmp_path / "png")
    report.write_markdown(tmp_path / "r.md")
    report.write_json(tmp_path / "r.json")
    assert [Path(p).name for p in pngs] == ["score_vs_citations.png"]
    assert Path(pngs[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "r.md").read_text()
    assert "| pooled within-year ranks |" in md and "| 2017 |" in md and "| 2018 |" in md
    assert "treated as missing" in md and "](png/score_vs_citations.png)" in md
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["papers"]["data_sha256"] and data["plots"] == pngs
    assert data["code_version"]["version"]


def test_suite_file_with_stored_judgments_of_eval_papers(engine, fake_server, settings_for, tmp_path):
    rows = [r for r in _rows()[:80]]
    data = tmp_path / "eval.jsonl"
    data.write_text(
        "\n".join(json.dumps({"id": r["id"], "title": r["title"], "abstract": r["abstract"]}) for r in rows) + "\n"
    )
    assert ingest_paths(engine, [data], is_eval=True, eval_suite="iclr1718").new == 80
    annotate(engine, settings_for(fake_server), AnnotateOptions(model="fake", eval_suite="iclr1718"))
    suite = tmp_path / "evals" / "iclr1718.toml"
    suite.parent.mkdir()
    suite.write_text(
        f'name = "iclr1718"\ndata = "{ICLR.as_posix()}"\n'
        '[ai]\ngold = "rating_mean"\nscale = [1, 10]\n'
        '[citations]\nfield = "citations"\nzero_is_missing = true\n'
    )
    report = biblio_report(engine, suite_file=suite, n_boot=200)
    p = report.data["papers"]
    assert p["matched_papers"] == 80 and p["suite"] == "iclr1718"
    assert report.data["judgments"]["model"] == "fake"
    from sqlalchemy import text

    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                text("SELECT p.external_id, j.ai_score FROM judgments j JOIN papers p ON p.id = j.paper_id")
            ).all()
        )
    for y in p["per_year"]:
        pairs = [(stored[r["id"]], r["citations"]) for r in rows if r["year"] == y["year"] and r["citations"]]
        assert y["n"] == len(pairs)
        if y["rho"] is not None:
            assert y["rho"] == pytest.approx(spearmanr(*zip(*pairs)).statistic, abs=1e-4)
    assert p["n"] + p["dropped"]["zero_citations"] + p["dropped"]["no_citations"] + p["dropped"]["no_score"] == 1474


def test_database_report_papers_and_authors(engine, fake_server, settings_for, tmp_path):
    rng = np.random.default_rng(5)
    papers = tmp_path / "papers.jsonl"
    lines = []
    for i in range(60):
        authors = [f"Author {i % 7}", f"Author {(i * 3) % 11 + 7}"]
        lines.append(
            json.dumps(
                {
                    "id": f"p{i}",
                    "title": f"Paper number {i} on topic {i % 5}",
                    "abstract": f"We study problem {i} with method {i * 7 % 13}; results differ.",
                    "authors": authors,
                    "published": f"{2019 + i % 3}-03-01",
                    "citations": int(rng.integers(0, 500)),
                }
            )
        )
    papers.write_text("\n".join(lines) + "\n")
    ingest_paths(engine, [papers])
    annotate(engine, settings_for(fake_server), AnnotateOptions(model="fake"))
    metrics = tmp_path / "authors.csv"
    metrics.write_text("name,h_index,as_of\n" + "".join(f"Author {a},{a * 2 + 1},2025-01-01\n" for a in range(18)))
    assert import_paths(engine, [metrics]).authors_matched == 18
    report = biblio_report(engine, n_boot=300, min_papers=3)
    d = report.data
    from sqlalchemy import text

    with engine.connect() as conn:
        got = conn.execute(
            text(
                "SELECT strftime('%Y', p.published), j.ai_score, m.citations FROM papers p "
                "JOIN judgments j ON j.paper_id = p.id JOIN paper_metrics m ON m.paper_id = p.id"
            )
        ).all()
    for y in d["papers"]["per_year"]:
        pairs = [(ai, c) for yr, ai, c in got if int(yr) == y["year"] and c > 0]
        assert y["n"] == len(pairs)
        assert y["rho"] == pytest.approx(spearmanr(*zip(*pairs)).statistic, abs=1e-4)
    assert d["papers"]["dropped"]["zero_citations"] == sum(1 for _, _, c in got if c == 0)
    a = d["authors"]
    assert a["n"] == 18 and -1 <= a["rho"] <= 1 and a["ci"][0] <= a["rho"] <= a["ci"][1]
    pngs = report.write_pngs(tmp_path / "png")
    assert sorted(Path(p).name for p in pngs) == ["author_score_vs_hindex.png", "score_vs_citations.png"]


def test_report_with_nothing_judged(engine):
    report = biblio_report(engine)
    assert report.data["papers"] is None and "annotate first" in report.data["notes"][0]


def test_report_through_the_cli(db_path, tmp_path):
    from annotator import cli

    r = CliRunner().invoke(
        cli.app,
        [
            "--db",
            db_path,
            "report",
            "biblio",
            "--data",
            str(ICLR),
            "--score-field",
            "rating_mean",
            "--n-boot",
            "200",
            "--md",
            str(tmp_path / "r.md"),
            "--json",
            str(tmp_path / "r.json"),
            "--png-dir",
            str(tmp_path / "png"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "pooled within-year ranks" in r.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    assert math.isfinite(data["papers"]["pooled_within_year"]["rho"])
    assert (tmp_path / "png" / "score_vs_citations.png").exists()
