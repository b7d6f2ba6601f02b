"""The one prompt resolver (``annotator.prompts.resolve``): the default rule with and without
an endpoint, a bare name and a named version, and every path that judges agreeing on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from annotator.api import ingest_files
from annotator.biblio import selection
from annotator.cli import app
from annotator.evalrun.injection import run_suite
from annotator.evalrun.run import EvalRunOptions, run_eval
from annotator.jobs.annotate import AnnotateOptions, annotate
from annotator.jobs.worker import WorkerOptions, run_worker
from annotator.packaged import data_path, local_model_file
from annotator.prompts.registry import activate
from annotator.prompts.resolve import EMBEDDED_REF, TEXT_REF, choose_prompt, default_ref, resolve
from annotator.settings import Settings, get_settings

DEAD_URL = "http://127.0.0.1:9/v1"  # nothing listens: only whether one is configured counts
AT_ENDPOINT = Settings(base_url=DEAD_URL, api_key=None)


@pytest.fixture
def prompts(tmp_path, monkeypatch) -> Path:
    """A prompt folder with ``score`` versions 1, 2 and 10 (10 is the latest, "2" the
    highest as text)."""
    folder = tmp_path / "prompts"
    (folder / "score").mkdir(parents=True)
    shipped = (data_path("prompts") / "score" / "v1.md").read_text(encoding="utf-8")
    for v in (1, 2, 10):
        (folder / "score" / f"v{v}.md").write_text(
            shipped.replace("version: 1\n", f"version: {v}\n", 1), encoding="utf-8"
        )
    monkeypatch.setenv("ANNOTATOR_PROMPTS", str(folder))
    return folder


def _papers(engine, tmp_path, n: int) -> None:
    path = tmp_path / "papers.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "title": f"Paper {i} on graphs",
                    "abstract": f"We study problem {i} and improve results.",
                    "authors": ["A. Author"],
                }
            )
            + "\n"
            for i in range(n)
        ),
        encoding="utf-8",
    )
    assert not ingest_files(engine, path).errors


def _queued(engine) -> set[str]:
    with engine.connect() as conn:
        return {
            f"{n}@{v}"
            for n, v in conn.execute(
                text(
                    "SELECT DISTINCT pv.name, pv.version FROM tasks t "
                    "JOIN prompt_versions pv ON pv.id = t.prompt_version_id"
                )
            )
        }


def test_at_an_endpoint_the_default_is_score_active_else_latest(engine, prompts):
    assert default_ref(AT_ENDPOINT) == default_ref(Settings(api_key="sk-x")) == "score"
    assert choose_prompt(engine, AT_ENDPOINT).ref == "score@10"  # by number, not as text
    resolve(engine, AT_ENDPOINT, "score@2")
    activate(engine, "score", "2")
    assert choose_prompt(engine, AT_ENDPOINT).ref == "score@2"
    assert choose_prompt(engine, AT_ENDPOINT, "score").ref == "score@2"  # a bare name: same rule
    assert choose_prompt(engine, AT_ENDPOINT, "score@1").ref == "score@1"
    assert choose_prompt(None, AT_ENDPOINT).ref == "score@10"  # no database: nothing is active


def test_without_an_endpoint_the_default_is_the_embedded_judge(engine):
    none = Settings(base_url=None, api_key=None)
    assert default_ref(none, local=True) == EMBEDDED_REF == "embed@1"
    assert default_ref(none, local=False) == TEXT_REF == "text-head@1"
    here = EMBEDDED_REF if local_model_file() is not None else TEXT_REF
    resolve(engine, AT_ENDPOINT, "score@1")
    activate(engine, "score", "1")  # an active chat prompt needs an endpoint: not the default
    assert choose_prompt(engine, none).ref == here
    assert choose_prompt(engine, none, "score").ref == "score@1"  # named: the active version
    assert choose_prompt(engine, none, "score-samples@1").ref == "score-samples@1"


def test_resolve_registers_the_version_once(engine, prompts):
    first = resolve(engine, AT_ENDPOINT, "score@2")
    again = resolve(engine, AT_ENDPOINT, "score@2")
    assert first.id == again.id and first.ref == "score@2" == f"{first.row.name}@{first.row.version}"
    assert first.row.content_hash == first.prompt.content_hash
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM prompt_versions")).scalar_one() == 1


def test_reading_judgments_picks_a_stored_version_by_the_same_rule(engine, prompts):
    for ref in ("score@2", "score@10"):
        resolve(engine, AT_ENDPOINT, ref)
    with engine.connect() as conn:
        latest = selection.resolve(conn)
    assert latest is not None and (latest.prompt, latest.chosen_by) == ("score@10", "latest")
    activate(engine, "score", "2")
    with engine.connect() as conn:
        active, named = selection.resolve(conn), selection.resolve(conn, "score")
    assert active is not None and (active.prompt, active.chosen_by) == ("score@2", "active")
    assert named is not None and named.prompt == "score@2"


def test_every_judging_path_picks_the_same_version(engine, prompts, fake_server, tmp_path):
    settings = get_settings(base_url=fake_server.base_url, api_key="sk-test", timeout_s=5.0)
    resolve(engine, settings, "score@2")
    activate(engine, "score", "2")  # neither the latest (10) nor the first
    _papers(engine, tmp_path, 2)
    annotate(engine, settings, AnnotateOptions(model="fake", limit=0))
    assert _queued(engine) == {"score@2"}
    served = run_worker(
        engine, settings, WorkerOptions(job=AnnotateOptions(model="fake"), poll_s=0.01, exit_when_idle=True)
    )
    assert (served.prompt, served.total.done) == ("score@2", 2)
    run = run_eval(
        engine,
        settings,
        "iclr2022",
        EvalRunOptions(model="fake", sample_size=12, n_boot=100, plots=False, out_dir=str(tmp_path / "eval")),
    )
    assert (run.result.provenance.prompt_name, run.result.provenance.prompt_version) == ("score", "2")
    report = run_suite(base_url=fake_server.base_url, api_key="sk-test", model="fake", n_pairs=1, engine=engine)
    assert report.prompt == "score@2"


def test_without_an_endpoint_the_worker_serves_what_annotate_queued(db_path, tmp_path, engine):
    """``annotate --limit 0`` queues for the default judge; a worker started the same way
    (no endpoint, no prompt named) serves exactly those tasks."""
    _papers(engine, tmp_path, 2)
    queued = CliRunner().invoke(app, ["--db", db_path, "annotate", "--limit", "0"])
    assert queued.exit_code == 0, queued.output
    default = EMBEDDED_REF if local_model_file() is not None else TEXT_REF
    assert _queued(engine) == {default}
    served = CliRunner().invoke(app, ["--db", db_path, "worker", "--exit-when-idle", "--poll", "0.01"])
    assert served.exit_code == 0, served.output
    assert f"worker {default} on" in served.output
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT state, COUNT(*) FROM tasks GROUP BY state")).all())
    assert states == {"done": 2}


def test_queueing_alone_starts_no_model(engine, tmp_path):
    """``annotate --limit 0`` only queues: the embedded model is named, never started (its
    endpoint has no URL), and the tasks wait for a worker under the model that serves them."""
    _papers(engine, tmp_path, 3)
    seen: list = []
    summary = annotate(engine, Settings(base_url=None, api_key=None), AnnotateOptions(limit=0), on_endpoint=seen.append)
    assert [ep.base_url for ep in seen] == [None], seen
    assert (summary.done, summary.failed, summary.calls) == (0, 0, 0)
    default = EMBEDDED_REF if local_model_file() is not None else TEXT_REF
    assert _queued(engine) == {default}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT state, model, COUNT(*) FROM tasks GROUP BY state, model")).all()
    assert [tuple(r) for r in rows] == [("pending", seen[0].model, 3)]
