"""The embedding judge end to end against the fake server's ``/v1/embeddings``.

The fake vectors carry the ICLR 2022 labels with a known signal-to-noise ratio (see
``annotator.testing._embeddings``), so a head fitted on them must find signal held out,
and a head fitted on labels with no signal must not. These tests check the machinery;
they say nothing about how good any real embedding model is.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from annotator.cli import app

REPO = Path(__file__).resolve().parent.parent
ICLR22 = REPO / "evals" / "iclr2022.toml"
NEURIPS = REPO / "evals" / "neurips2023.toml"
LABELS = REPO / "evals" / "data" / "iclr2022_ratings_novelty.jsonl"
LOOSE = [
    "--fail-under",
    "spearman_ai=-1",
    "--fail-under",
    "spearman_novelty=-1",
    "--fail-under",
    "auroc_ai=0",
    "--fail-under",
    "max_missing_rate=1",
]


def configure(server, **cfg) -> dict:
    r = httpx.post(server.url + "/_fake/embeddings", json=cfg, trust_env=False)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def cli(db_path, fake_server, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    runner = CliRunner()

    def invoke(*args, code: int = 0):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return invoke


def embedding_requests(server) -> list[dict]:
    """Requests for texts' vectors (the cache's one probe of the model per run left out)."""
    from annotator.heads.vector_store import PROBE_TEXT

    return [r for r in server.requests(path="/v1/embeddings") if r["body"]["input"] != [PROBE_TEXT]]


def fit(cli, *suites, model="fake-embed"):
    out = cli("eval", "fit", *suites, "--prompt", "embed@1", "--model", model, "--n-boot", "200", "--json")
    return json.loads(out.stdout)


def test_fit_finds_held_out_signal_in_batched_cached_requests(cli, fake_server):
    configure(fake_server, labels=str(LABELS), signal=1.0, noise=1.0, dim=32)
    head = fit(cli, ICLR22)
    oof = head["metrics"]["iclr2022"]
    assert oof["ai"]["out_of_fold"]["spearman"]["value"] > 0.4
    assert oof["novelty"]["out_of_fold"]["spearman"]["value"] > 0.4
    assert oof["ai"]["out_of_fold"]["auroc"]["value"] > 0.6
    assert head["provenance"]["model"] == "fake-embed" and head["provenance"]["data_hash"]
    assert head["provenance"]["code_version"] and head["provenance"]["prompt"] == "embed@1"
    sent = embedding_requests(fake_server)
    texts = [t for r in sent for t in r["body"]["input"]]
    assert len(texts) == 1500 and len(set(texts)) == 1500  # every paper once
    assert len(sent) < 1500 / 10  # many abstracts per request
    # a second fit reads every vector from the cache
    fit(cli, ICLR22)
    assert len(embedding_requests(fake_server)) == len(sent)


def test_no_signal_means_no_held_out_signal(cli, fake_server):
    """Labels the vectors do not carry: the held-out figures must show nothing, even though
    a head scored on its own training papers would (that is what leakage would look like)."""
    configure(fake_server, labels=str(LABELS), signal=0.0, noise=1.0, dim=256)
    head = fit(cli, ICLR22)
    rho = head["metrics"]["iclr2022"]["ai"]["out_of_fold"]["spearman"]
    assert abs(rho["value"]) < 0.12 and rho["ci_low"] < 0.05


def test_out_of_fold_predictions_come_from_heads_fitted_without_the_paper(fake_server, engine):
    from annotator.evaluation.items import load_items
    from annotator.evaluation.suites import load_suite
    from annotator.heads.build import build_head
    from annotator.heads.fit import fit_linear
    from annotator.heads.model import Head

    rng = np.random.default_rng(1)
    items = load_items(load_suite(ICLR22), sample=False)[:300]
    x = rng.standard_normal((len(items), 20))
    x[:, 0] += np.array([it.gold_ai for it in items])
    head = build_head(
        "embedding",
        items,
        {it.id: "iclr2022" for it in items},
        x,
        [load_suite(ICLR22)],
        {"model": "m"},
        k=5,
        seed=3,
        n_boot=100,
        text_hashes=[it.id for it in items],
    )
    head = Head.loads(head.dumps())  # what is stored is what is checked
    y = np.array([it.gold_ai for it in items])
    fold = np.array([head.split.folds[it.id] for it in items])
    assert sorted(set(fold)) == [0, 1, 2, 3, 4]
    for f in range(5):
        alone = fit_linear(x[fold != f], y[fold != f])
        expected = alone.predict(x[fold == f])
        got = [head.targets["ai"].oof[it.id] for it, m in zip(items, fold == f) if m]
        assert np.allclose(got, expected, rtol=1e-5, atol=1e-5)
    # and they differ from the in-sample predictions of the final head
    inside = head.predict(x)["ai"]
    oof = np.array([head.targets["ai"].oof[it.id] for it in items])
    assert not np.allclose(inside, oof)
    # a labelled paper is never its own neighbour in a rationale
    near = head.neighbours.nearest(x[0], 3, exclude_hash=items[0].id)
    assert items[0].id not in {p["id"] for p in near}


def test_eval_run_scores_fitted_papers_out_of_fold_and_across_suites(cli, fake_server, tmp_path, engine):
    configure(fake_server, labels=str(LABELS), signal=1.0, noise=1.0, dim=32)
    fit(cli, ICLR22, NEURIPS)
    out = tmp_path / "report"
    cli(
        "eval",
        "run",
        ICLR22,
        "--prompt",
        "embed@1",
        "--model",
        "fake-embed",
        "--sample-size",
        "40",
        "--n-boot",
        "200",
        "--no-plots",
        "--out",
        out,
        *LOOSE,
    )
    result = json.loads((out / "result.json").read_text())
    assert result["fitted_head"]["out_of_fold"] == 40
    assert any("out-of-fold" in n and "never in-sample" in n for n in result["notes"])
    assert "other_suites" in result["fitted_head"]
    assert any(n.startswith("Fit on the other suites") for n in result["notes"])
    assert "Fitted head" in (out / "report.md").read_text()
    assert fake_server.chat_requests() == []  # no chat call at all
    # the scores evaluated are the head's out-of-fold ones, not the stored in-sample judgments
    from annotator.heads.head_store import latest_head

    with engine.connect() as conn:
        pv = conn.execute(text("SELECT id FROM prompt_versions WHERE name = 'embed'")).scalar_one()
        stored = dict(
            conn.execute(
                text("SELECT p.external_id, j.ai_score FROM judgments j JOIN papers p ON p.id = j.paper_id")
            ).all()
        )
    head = latest_head(engine, pv, "fake-embed").head
    differ = 0
    for paper in result["papers"]:
        oof = head.targets["ai"].score(head.targets["ai"].oof[paper["id"]])
        assert paper["pred"]["ai_score"] == pytest.approx(float(oof))
        differ += abs(stored[paper["id"]] - float(oof)) > 1
    assert differ > 0


def test_annotate_stores_judgments_with_head_provenance_and_neighbours(cli, fake_server, engine):
    from conftest import SEED_PAGE

    configure(fake_server, labels=str(LABELS), signal=1.0, noise=1.0, dim=32)
    head = fit(cli, ICLR22)
    cli("ingest", SEED_PAGE)
    cli("annotate", "--prompt", "embed@1", "--model", "fake-embed", "--concurrency", "16")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT ai_score, novelty, rationale, method, details_json, model FROM judgments")
        ).all()
        calls = conn.execute(text("SELECT COUNT(*) FROM llm_calls")).scalar_one()
    # one stored call a paper: its share of an embeddings request (no chat call at all)
    assert len(rows) == 45 and calls == 45 and fake_server.chat_requests() == []
    assert len({r[0] for r in rows}) > 10  # scores differ between papers
    for ai, nov, rationale, method, details, model in rows:
        assert 0 <= ai <= 100 and 0 <= nov <= 100
        assert method == "embedding-head" and model == "fake-embed"
        assert rationale.startswith("Closest labelled papers: ") and "ICLR 2022, mean rating" in rationale
        assert "not a reviewer" in rationale
        d = json.loads(details)
        assert d["head"]["hash"] == head["hash"] and d["head"]["id"] == head["id"]
        assert d["embedding"]["model"] == "fake-embed" and d["embedding"]["dim"] == 32
    # 45 papers at concurrency 16 share requests
    assert len(embedding_requests(fake_server)) < 45 + 1500 / 10
    # the profile says what these scores are
    shown = cli("authors", "show", "Zhengyan Zhang").stdout
    assert "embedding head's predictions" in shown and "not a" in shown
    profile = json.loads(cli("authors", "show", "Zhengyan Zhang", "--json").stdout)
    assert profile["judgments"]["method"] == "embedding-head"


def test_per_token_vectors_are_mean_pooled(fake_server):
    from annotator.judge.embeddings import EmbeddingsClient

    configure(fake_server, dim=8)
    pooled = EmbeddingsClient("m", base_url=fake_server.base_url).embed(["a paper", "another"])
    configure(fake_server, dim=8, pooling="none")
    tokens = EmbeddingsClient("m", base_url=fake_server.base_url).embed(["a paper", "another"])
    assert pooled.shape == (2, 8) and np.allclose(pooled, tokens, atol=1e-6)


def test_endpoint_failure_fails_the_task_and_missing_head_names_the_fix(cli, fake_server, engine):
    from conftest import SEED_PAGE

    cli("ingest", SEED_PAGE)
    missing = cli("annotate", "--prompt", "embed@1", "--model", "no-head-model", code=2)
    assert "annotator eval fit" in missing.output and "no-head-model" in missing.output
    configure(fake_server, labels=str(LABELS), signal=1.0, dim=16)
    fit(cli, ICLR22)
    configure(fake_server, labels=str(LABELS), signal=1.0, dim=16, status=500)
    cli("annotate", "--prompt", "embed@1", "--model", "fake-embed", code=5)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM judgments")).scalar_one() == 0
        errors = conn.execute(text("SELECT last_error FROM tasks WHERE state = 'failed'")).scalars().all()
    assert errors and all("HTTP 500" in e for e in errors)


def test_injection_suite_runs_against_the_embedding_judge(cli, fake_server, engine):
    from annotator.evalrun.injection import run_suite

    configure(fake_server, labels=str(LABELS), signal=1.0, dim=16)
    fit(cli, ICLR22)
    report = run_suite(
        base_url=fake_server.base_url, api_key="k", model="fake-embed", prompt="embed@1", n_pairs=10, engine=engine
    )
    assert report.prompt == "embed@1" and report.judged_pairs == 10 and not report.failures
    assert report.mean_ai_shift is not None
    assert fake_server.chat_requests() == []  # the embedding judge reads no instruction


def test_embedding_tokens_and_cost_are_counted_per_paper(cli, fake_server, engine, monkeypatch):
    """Every paper's share of the embeddings requests lands in llm_calls: the tokens sum
    to the usage the endpoint reported, priced as the model's input tokens; texts the
    vector cache already holds are stored as cached calls and cost nothing."""
    from conftest import SEED_PAGE

    monkeypatch.setenv("ANNOTATOR_PRICES", '{"fake-embed": [2.0, 0.0]}')
    configure(fake_server, labels=str(LABELS), signal=1.0, noise=1.0, dim=16)
    fit(cli, ICLR22)
    cli("ingest", SEED_PAGE)
    before = len(embedding_requests(fake_server))
    cli("annotate", "--prompt", "embed@1", "--model", "fake-embed", "--concurrency", "8")
    sent = embedding_requests(fake_server)[before:]
    assert sent  # the seed's papers were not in the cache
    reported = sum(len(t.split()) for r in sent for t in r["body"]["input"])  # the fake's usage
    with engine.connect() as conn:
        calls = conn.execute(text("SELECT outcome, prompt_tokens, cost_usd, completion_tokens FROM llm_calls")).all()
        judged = conn.execute(text("SELECT SUM(prompt_tokens) FROM judgments")).scalar_one()
    assert len(calls) == 45 and {c[0] for c in calls} == {"ok"}
    assert sum(c[1] for c in calls) == reported == judged > 0
    assert all(c[3] == 0 for c in calls)
    assert sum(c[2] for c in calls) == pytest.approx(2.0 * reported / 1e6)
    out = cli("costs").stdout
    assert "fake-embed" in out

    # the same papers judged again (judgments cleared, tasks re-opened): every vector
    # comes from the cache
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM judgments"))
        conn.execute(text("DELETE FROM llm_calls"))
        conn.execute(text("UPDATE tasks SET state = 'pending'"))
    before = len(embedding_requests(fake_server))
    cli("annotate", "--prompt", "embed@1", "--model", "fake-embed", "--concurrency", "8")
    assert len(embedding_requests(fake_server)) == before  # nothing sent again
    with engine.connect() as conn:
        again = conn.execute(text("SELECT outcome, prompt_tokens, cost_usd FROM llm_calls")).all()
    assert len(again) == 45 and {a[0] for a in again} == {"cached"}
    assert sum(a[1] for a in again) == 0 and sum(a[2] for a in again) == 0
