"""Author profiles and leaderboards over the seed page, judged by the fake model server."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from conftest import SEED_PAGE
from sqlalchemy import text
from typer.testing import CliRunner

from annotator.biblio.profiles import author_profile, leaderboard
from annotator.biblio.save import import_paths, link_feed_pages
from annotator.errors import InputError, PromptError
from annotator.ingest import ingest_paths
from annotator.jobs.annotate import AnnotateOptions, annotate

FIX = Path(__file__).parent / "fixtures" / "biblio"


@pytest.fixture
def cli_app():
    from annotator import cli

    return cli.app


def _judge(engine, settings, model="fake"):
    summary = annotate(engine, settings, AnnotateOptions(model=model, concurrency=8))
    assert summary.failed == 0
    return summary


@pytest.fixture
def judged(engine, fake_server, settings_for):
    ingest_paths(engine, [SEED_PAGE])
    _judge(engine, settings_for(fake_server))
    return engine


def _scores(engine, model="fake"):
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT p.title, j.ai_score FROM judgments j JOIN papers p ON p.id = j.paper_id WHERE j.model = :m"
                ),
                {"m": model},
            ).all()
        )


def test_done_when_profile_after_ingest_and_annotate(judged):
    p = author_profile(judged, "Zhengyan Zhang")
    assert (p.h_index, p.papers, p.citations) == (44, 45, 24889)
    assert (p.reported.novelty, p.reported.ai_score) == (54.0, 55.0)
    assert p.reported.source == "feedpage" and p.primary_category == "CL"
    assert isinstance(p.ai_score, float) and isinstance(p.novelty, float)
    for key in ("ai_score", "novelty"):
        lo, hi = getattr(p, f"{key}_ci")
        assert lo <= getattr(p, key) <= hi and lo < hi
    # all 45 count, not only the 28 that name him: ingesting the page linked them
    assert p.n_judged == 45 == len(p.paper_list)
    scores = _scores(judged)
    assert p.ai_score == round(statistics.fmean(scores[x.title] for x in p.paper_list), 2)
    assert p.ai_score == round(statistics.fmean(x.ai_score for x in p.paper_list), 2)
    assert p.judgments.prompt == "score@1" and p.judgments.model == "fake"
    assert author_profile(judged, "Zhengyan Zhang") == p  # the seeded bootstrap repeats
    first = p.paper_list[0]
    assert first.published >= p.paper_list[-1].published
    assert set(first.model_dump()) >= {
        "category",
        "published",
        "has_code",
        "title",
        "authors",
        "authors_truncated",
        "affiliations",
        "ai_score",
        "novelty",
    }


def test_done_when_through_the_cli(cli_app, db_path, fake_server, monkeypatch):
    runner = CliRunner()
    r = runner.invoke(cli_app, ["--db", db_path, "ingest", str(SEED_PAGE)])
    assert r.exit_code == 0, r.output
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    r = runner.invoke(cli_app, ["--db", db_path, "annotate", "--model", "fake"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli_app, ["--db", db_path, "biblio", "import", str(SEED_PAGE)])
    assert r.exit_code == 0 and "45 matched" in r.output and "0 author-paper links" in r.output, r.output
    r = runner.invoke(cli_app, ["--db", db_path, "authors", "show", "Zhengyan Zhang", "--json"])
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)
    assert (p["h_index"], p["papers"], p["citations"]) == (44, 45, 24889)
    assert (p["reported"]["novelty"], p["reported"]["ai_score"]) == (54, 55)
    assert 0 <= p["ai_score"] <= 100 and 0 <= p["novelty"] <= 100 and p["n_judged"] == 45
    assert len(p["ai_score_ci"]) == 2 and len(p["novelty_ci"]) == 2
    r = runner.invoke(cli_app, ["--db", db_path, "authors", "show", "Zhengyan Zhang"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    assert "h-index 44" in r.output and "(page: 54%)" in r.output and "(page: 55)" in r.output
    assert "24,889 citations" in r.output and "et al." in r.output and "45 Papers" in r.output
    r = runner.invoke(cli_app, ["--db", db_path, "authors", "show", "Nobody Here"])
    assert r.exit_code == 3 and "no author named" in r.output


def test_eval_papers_are_left_out(judged, fake_server, settings_for, tmp_path):
    before = author_profile(judged, "Zhengyan Zhang")
    suite = tmp_path / "eval.jsonl"
    suite.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"ev{i}",
                    "title": f"Eval paper {i}",
                    "abstract": f"An eval abstract number {i}.",
                    "authors": ["Zhengyan Zhang", "Eval Only"],
                }
            )
            for i in range(5)
        )
        + "\n"
    )
    ingest_paths(judged, [suite], is_eval=True, eval_suite="t")
    annotate(judged, settings_for(fake_server), AnnotateOptions(model="fake", eval_suite="t"))
    with judged.connect() as conn:
        assert (
            conn.execute(
                text("SELECT COUNT(*) FROM judgments j JOIN papers p ON p.id = j.paper_id WHERE p.is_eval")
            ).scalar()
            == 5
        )
    assert author_profile(judged, "Zhengyan Zhang") == before
    assert author_profile(judged, "Eval Only").papers_stored == 0
    names = [r.name for r in leaderboard(judged, "ai_score", limit=1000).rows]
    assert "Eval Only" not in names and "Zhengyan Zhang" in names


def test_judgment_set_prompt_and_model(judged, fake_server, settings_for):
    _judge(judged, settings_for(fake_server), model="fake-b")
    p = author_profile(judged, "Zhengyan Zhang")
    assert p.judgments.model == "fake-b"  # the most recent judgment's model
    a = author_profile(judged, "Zhengyan Zhang", model="fake")
    assert a.judgments.model == "fake"
    pinned = author_profile(judged, "Zhengyan Zhang", prompt="score@1", model="fake")
    assert pinned.judgments.chosen_by == "--prompt"
    assert pinned.model_dump(exclude={"judgments"}) == a.model_dump(exclude={"judgments"})
    assert author_profile(judged, "Zhengyan Zhang", prompt="score").judgments.chosen_by == "--prompt"
    with pytest.raises(PromptError, match="score@9"):
        author_profile(judged, "Zhengyan Zhang", prompt="score@9")
    none = author_profile(judged, "Zhengyan Zhang", model="never-ran")
    assert none.ai_score is None and none.ai_score_ci is None and none.n_judged == 0


def test_find_author_forms(judged):
    with judged.connect() as conn:
        aid = conn.execute(text("SELECT id FROM authors WHERE norm_name = 'zhengyan zhang'")).scalar()
    assert author_profile(judged, f"#{aid}").name == "Zhengyan Zhang"
    assert author_profile(judged, "  zhengyan   ZHANG ").author_id == aid
    with pytest.raises(InputError, match="did you mean: Zhengyan Zhang"):
        author_profile(judged, "Zhengyan Zhong")
    with pytest.raises(InputError, match="no author with id 99999"):
        author_profile(judged, "#99999")


def test_leaderboards(judged):
    link_feed_pages(judged, [SEED_PAGE])
    board = leaderboard(judged, "ai_score", min_papers=2, limit=50)
    rows = board.rows
    assert rows and all(r.n_judged >= 2 for r in rows)
    assert [r.ai_score for r in rows] == sorted((r.ai_score for r in rows), reverse=True)
    zz = next(r for r in rows if r.name == "Zhengyan Zhang")
    prof = author_profile(judged, "Zhengyan Zhang")
    assert (zz.ai_score, zz.novelty, zz.n_judged, zz.h_index) == (prof.ai_score, prof.novelty, 45, 44)
    assert zz.ai_score_ci == prof.ai_score_ci
    by_nov = leaderboard(judged, "novelty", min_papers=2, limit=50).rows
    assert [r.novelty for r in by_nov] == sorted((r.novelty for r in by_nov), reverse=True)
    assert len(leaderboard(judged, "ai_score", limit=3).rows) == 3
    # affiliation filter: authors with a paper tagged "princeton"
    at = leaderboard(judged, "ai_score", affiliation="Princeton", limit=100).rows
    assert {r.name for r in at} >= {"Zichun Yu", "Tianyu Gao", "Zhengyan Zhang"}
    with judged.connect() as conn:
        tagged = {
            n
            for (n,) in conn.execute(
                text(
                    "SELECT DISTINCT a.name FROM authors a JOIN authorships s ON s.author_id = a.id "
                    "JOIN paper_affiliations pa ON pa.paper_id = s.paper_id JOIN affiliations af "
                    "ON af.id = pa.affiliation_id WHERE af.name = 'princeton'"
                )
            )
        }
    assert {r.name for r in at} == tagged | {"Zhengyan Zhang"}
    # metric boards
    import_paths(judged, [FIX / "author_metrics.csv"])
    h = leaderboard(judged, "h_index").rows
    assert [r.name for r in h] == ["Zhengyan Zhang"] and h[0].h_index == 44
    assert leaderboard(judged, "citations", min_papers=46).rows == []
    assert leaderboard(judged, "h_index", metrics_source="scholar").rows[0].h_index == 45
    # affiliations ranked by their papers' mean score
    groups = leaderboard(judged, "ai_score", group="affiliation", min_papers=1).rows
    assert {g.affiliation for g in groups} >= {"tsinghua", "princeton"}
    tsinghua = next(g for g in groups if g.affiliation == "tsinghua")
    with judged.connect() as conn:
        mean = conn.execute(
            text(
                "SELECT AVG(j.ai_score), COUNT(*) FROM judgments j JOIN paper_affiliations pa "
                "ON pa.paper_id = j.paper_id JOIN affiliations af ON af.id = pa.affiliation_id "
                "WHERE af.name = 'tsinghua'"
            )
        ).one()
    assert (tsinghua.ai_score, tsinghua.n_judged) == (round(mean[0], 2), mean[1])
    with pytest.raises(InputError):
        leaderboard(judged, "fame")


def test_top_through_the_cli(cli_app, judged, db_path):
    runner = CliRunner()
    r = runner.invoke(
        cli_app, ["--db", db_path, "authors", "top", "--by", "ai_score", "--min-papers", "3", "--limit", "5", "--json"]
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["rows"]
    assert 0 < len(rows) <= 5 and all(x["n_judged"] >= 3 for x in rows)
    r = runner.invoke(cli_app, ["--db", db_path, "authors", "top", "--group", "affiliation"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "tsinghua" in r.output
    r = runner.invoke(cli_app, ["--db", db_path, "authors", "top", "--by", "fame"])
    assert r.exit_code == 3 and "--by must be one of" in r.output


def test_profile_without_judgments_or_metrics(engine, tmp_path):
    page = tmp_path / "p.jsonl"
    page.write_text('{"title": "Solo", "abstract": "Alone.", "authors": ["Ann Lee"]}\n')
    ingest_paths(engine, [page])
    p = author_profile(engine, "Ann Lee")
    assert (p.h_index, p.citations, p.papers, p.ai_score, p.judgments) == (None, None, 1, None, None)
    assert p.to_json()["reported"] == {
        k: None for k in ("ai_score", "novelty", "h_index", "citations", "papers", "source", "as_of")
    }
    assert leaderboard(engine, "ai_score").rows == []


def test_an_author_counts_each_paper_once(engine, fake_server, settings_for, tmp_path):
    page = tmp_path / "p.jsonl"
    page.write_text(
        '{"title": "Twice", "abstract": "Two namesakes wrote this.", "authors": ["Wei Wang", "Wei Wang"]}\n'
        '{"title": "Once", "abstract": "One author.", "authors": ["Wei Wang", "Li Na"]}\n'
    )
    ingest_paths(engine, [page])
    with engine.connect() as conn:
        wang = conn.execute(text("SELECT id FROM authors WHERE norm_name = 'wei wang'")).scalar()
        once = conn.execute(text("SELECT id FROM papers WHERE title = 'Once'")).scalar()
        assert conn.execute(text("SELECT COUNT(*) FROM authorships WHERE author_id = :a"), {"a": wang}).scalar() == 3
    with engine.begin() as conn:  # a profile source also lists a paper he is already on
        conn.execute(
            text(
                "INSERT INTO author_papers (author_id, paper_id, source, created_at) "
                "VALUES (:a, :p, 'test', '2026-01-01 00:00:00')"
            ),
            {"a": wang, "p": once},
        )
    _judge(engine, settings_for(fake_server))
    rows = {r.name: r for r in leaderboard(engine, "ai_score").rows}
    assert rows["Wei Wang"].n_judged == 2 and rows["Wei Wang"].papers_stored == 2
    assert author_profile(engine, "Wei Wang").n_judged == 2
    assert leaderboard(engine, "ai_score", min_papers=3).rows == []  # the ranking query counts 2 too
    scores = _scores(engine)
    assert rows["Wei Wang"].ai_score == round((scores["Twice"] + scores["Once"]) / 2, 2)
