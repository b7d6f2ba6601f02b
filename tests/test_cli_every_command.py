"""Every command and sub-command of ``annotator``, run through the real CLI with its defaults.

``test_every_command_has_a_run`` walks the command tree of the app: a command added
without a run in ``STEPS`` (or an entry in ``COVERED_ELSEWHERE``) fails it.
``test_every_command_runs`` then runs the steps in order on one temporary database,
against the fake OpenAI-compatible server (and a fake OpenAlex for ``biblio fetch``),
checking what each prints and what it stores, and records which commands really ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest
import typer
from _rescore import private_prompts, rows, write_papers
from test_biblio_fetch import openalex  # noqa: F401  (fixture: a tiny OpenAlex)
from typer.testing import CliRunner

from annotator import cli

REPO = Path(__file__).resolve().parent.parent
SUITE = REPO / "tests" / "fixtures" / "eval" / "synthetic.toml"
MODEL = "gpt-4o-mini"  # what annotate picks by default when an endpoint is configured

# Commands run by another test: path -> the test that runs it through the CLI.
COVERED_ELSEWHERE = {
    "demo": "tests/test_demo.py::test_demo_judges_the_sample_with_the_local_model "
    "(the real local model; test_demo_json below runs demo --json)",
}


def command_paths(app: typer.Typer) -> set[str]:
    """Every runnable command of the app as its words ("queue", "batch collect"...): the
    leaves, and the groups that do something without a sub-command."""
    out: set[str] = set()

    def walk(cmd, words: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            out.add(" ".join(words))
            return
        if words and getattr(cmd, "invoke_without_command", False):
            out.add(" ".join(words))
        for name, sub in subs.items():
            walk(sub, words + (name,))

    walk(typer.main.get_command(app), ())
    return out


def resolve(app: typer.Typer, args: list[str]) -> str:
    """The command that ``args`` runs (options before it skipped)."""
    cmd, words = typer.main.get_command(app), []
    for arg in args:
        subs = getattr(cmd, "commands", None)
        if subs is None or arg.startswith("-"):
            if subs is None:
                break
            continue
        if arg not in subs:
            break
        cmd = subs[arg]
        words.append(arg)
    return " ".join(words)


# -- the world the steps share -------------------------------------------------------
@dataclass
class World:
    tmp: Path
    fake: object  # the fake OpenAI-compatible server
    openalex_url: str
    engine: object
    prompts: Path
    env: pytest.MonkeyPatch
    ran: list[str] = field(default_factory=list)
    values: dict = field(default_factory=dict)

    def run(self, *args, exit_code: int = 0):
        argv = [str(a) for a in args]
        self.ran.append(resolve(cli.app, argv))
        result = CliRunner().invoke(cli.app, argv, catch_exceptions=False)
        assert result.exit_code == exit_code, (argv, result.output)
        return result

    def count(self, sql: str, **params) -> int:
        return rows(self.engine, sql, **params)[0][0]


STEPS: list[tuple[str, Callable[[World], None]]] = []


def step(path: str):
    def register(fn):
        STEPS.append((path, fn))
        return fn

    return register


@step("ingest")
def _ingest(w: World) -> None:
    r = w.run("ingest", write_papers(w.tmp / "papers.jsonl", 6))
    assert "new 6, updated 0, unchanged 0, rejected 0" in r.stdout
    assert w.count("SELECT COUNT(*) FROM papers") == 6


@step("annotate")
def _annotate(w: World) -> None:
    w.env.setenv("ANNOTATOR_MAX_REASKS", "0")  # one invalid reply fails its paper for good
    w.fake.script([{"kind": "content", "content": "no json here"}])
    r = w.run("annotate")
    w.env.delenv("ANNOTATOR_MAX_REASKS")
    assert "done 5, failed 1" in r.stdout
    assert rows(w.engine, "SELECT DISTINCT model, prompt_name, prompt_version FROM judgments") == [
        (MODEL, "score", "1")
    ]
    assert w.count("SELECT COUNT(*) FROM judgments") == 5


@step("queue")
def _queue(w: World) -> None:
    r = w.run("queue")
    assert "score@1" in r.stdout and "failed" in r.stdout and "done" in r.stdout
    data = json.loads(w.run("queue", "--json").stdout)
    assert sorted((d["prompt"], d["model"], d["state"], d["count"]) for d in data) == [
        ("score@1", MODEL, "done", 5),
        ("score@1", MODEL, "failed", 1),
    ]


@step("queue retry")
def _queue_retry(w: World) -> None:
    assert "1 failed task(s) queued again" in w.run("queue", "retry").stdout
    assert w.count("SELECT COUNT(*) FROM tasks WHERE state = 'pending'") == 1
    assert "done 1, failed 0" in w.run("annotate").stdout
    assert w.count("SELECT COUNT(*) FROM judgments") == 6


@step("export")
def _export(w: World) -> None:
    papers = [json.loads(line) for line in w.run("export").stdout.splitlines()]
    assert len(papers) == 6 and all(len(p["judgments"]) == 1 for p in papers)


@step("prompts list")
def _prompts_list(w: World) -> None:
    assert "score@1" in w.run("prompts", "list").stdout
    data = json.loads(w.run("prompts", "list", "--json").stdout)
    assert [(d["ref"], d["judged"], d["active"]) for d in data] == [("score@1", 6, False)]


@step("prompts show")
def _prompts_show(w: World) -> None:
    out = w.run("prompts", "show", "score@1").stdout
    assert out.startswith("# score@1") and "[system]" in out and "[user]" in out


@step("prompts new")
def _prompts_new(w: World) -> None:
    assert "created" in w.run("prompts", "new", "score").stdout
    v2 = w.prompts / "score" / "v2.md"
    assert v2.exists()
    v2.write_text(v2.read_text().replace("experienced reviewer", "strict reviewer"))


@step("prompts diff")
def _prompts_diff(w: World) -> None:
    out = w.run("prompts", "diff", "score@1", "score@2").stdout
    assert "-" in out and "strict reviewer" in out
    d = json.loads(w.run("prompts", "diff", "score@1", "score@2", "--json").stdout)
    assert "strict reviewer" in json.dumps(d)
    assert "done 6, failed 0" in w.run("annotate", "--prompt", "score@2").stdout


@step("compare")
def _compare(w: World) -> None:
    assert "score@1" in w.run("compare", "score@1", "score@2").stdout
    data = json.loads(w.run("compare", "score@1", "score@2", "--json", "-").stdout)
    assert (data["a"], data["b"], data["model"], data["n"]) == ("score@1", "score@2", MODEL, 6)


@step("prompts activate")
def _prompts_activate(w: World) -> None:
    assert "score@2 is active" in w.run("prompts", "activate", "score@2").stdout
    assert rows(w.engine, "SELECT name, version FROM prompt_versions WHERE active") == [("score", "2")]


@step("costs")
def _costs(w: World) -> None:
    assert MODEL in w.run("costs").stdout
    data = json.loads(w.run("costs", "--json", "-").stdout)
    calls = w.count("SELECT COUNT(*) FROM llm_calls")
    assert sum(r["calls"] for r in data["rows"]) == calls


@step("annotate --batch")  # not a command of its own: the path that used to crash
def _annotate_batch(w: World) -> None:
    w.run("ingest", write_papers(w.tmp / "more.jsonl", 4, start=6))
    chat = len(w.fake.chat_requests())
    r = w.run("annotate", "--batch", "--model", MODEL)
    assert "1 batch(es), 4 papers, 4 requests" in r.stdout
    assert rows(w.engine, "SELECT model, requests, collected FROM batches") == [(MODEL, 4, False)]
    assert len(w.fake.chat_requests()) == chat  # sent as a batch, not one by one
    assert len(w.fake.requests(path="/v1/batches")) == 1


@step("batch list")
def _batch_list(w: World) -> None:
    ((batch_id,),) = rows(w.engine, "SELECT batch_id FROM batches")
    assert batch_id[:12] in w.run("batch", "list").stdout
    data = json.loads(w.run("batch", "list", "--json").stdout)
    assert [(d["batch_id"], d["requests"], d["collected"]) for d in data] == [(batch_id, 4, False)]


@step("batch collect")
def _batch_collect(w: World) -> None:
    r = w.run("batch", "collect")
    assert "yes" in r.stdout
    assert (
        w.count(
            "SELECT COUNT(*) FROM judgments j JOIN prompt_versions pv ON "
            "pv.id = j.prompt_version_id WHERE pv.version = '2'"
        )
        == 10
    )
    assert "no open batches" in w.run("batch", "collect").stdout


@step("batch submit")
def _batch_submit(w: World) -> None:
    w.run("ingest", write_papers(w.tmp / "last.jsonl", 2, start=10))
    r = w.run("batch", "submit")
    assert "score@2 on gpt-4o-mini: 1 batch(es), 2 papers" in r.stdout
    ((w.values["batch"],),) = rows(w.engine, "SELECT batch_id FROM batches WHERE NOT collected")


@step("batch cancel")
def _batch_cancel(w: World) -> None:
    batch_id = w.values["batch"]
    assert f"{batch_id}: cancelled" in w.run("batch", "cancel", batch_id).stdout
    data = json.loads(w.run("batch", "collect", "--json").stdout)
    assert (data["judged"], data["requeued"], data["open"]) == (0, 2, 0)
    assert [b["status"] for b in data["batches"]] == ["cancelled"]
    assert w.count("SELECT COUNT(*) FROM tasks WHERE state = 'pending'") == 2


@step("biblio import")
def _biblio_import(w: World) -> None:
    csv = w.tmp / "authors.csv"
    csv.write_text("name,orcid,h_index,citations,works_count,as_of,source\nAuthor 0,,12,3400,40,2025-07-01,scholar\n")
    r = w.run("biblio", "import", csv)
    assert "authors: 1 matched, 0 unmatched" in r.stdout
    assert rows(w.engine, "SELECT h_index, source FROM author_metrics") == [(12, "scholar")]


@step("biblio fetch")
def _biblio_fetch(w: World) -> None:
    r = w.run("biblio", "fetch", "--openalex-id", "A5000000042", "--base-url", w.openalex_url)
    assert "(A5000000042)" in r.stdout and "h-index" in r.stdout
    assert "unmatched" in r.output  # the fetched author is not stored here
    papers = w.count("SELECT COUNT(*) FROM papers")
    r = w.run("biblio", "fetch", "--openalex-id", "A5000000042", "--base-url", w.openalex_url, "--ingest", "--json")
    fetched = json.loads(r.stdout)
    assert fetched["ingested"]["new"] > 0
    assert w.count("SELECT COUNT(*) FROM papers") == papers + fetched["ingested"]["new"]
    assert w.count("SELECT COUNT(*) FROM author_metrics WHERE source = 'openalex'") >= 1


@step("authors show")
def _authors_show(w: World) -> None:
    assert "Author 0" in w.run("authors", "show", "Author 0").stdout
    profile = json.loads(w.run("authors", "show", "Author 0", "--json").stdout)
    assert profile["name"] == "Author 0" and profile["h_index"] == 12


@step("authors top")
def _authors_top(w: World) -> None:
    assert "Author" in w.run("authors", "top").stdout
    board = json.loads(w.run("authors", "top", "--json").stdout)
    judged = w.count("SELECT COUNT(DISTINCT author_id) FROM authorships")
    assert 0 < len(board["rows"]) <= min(20, judged)


@step("authors refresh")
def _authors_refresh(w: World) -> None:
    assert "full refresh" in w.run("authors", "refresh", "--full").stdout
    done = json.loads(w.run("authors", "refresh", "--json").stdout)
    assert done["mode"] == "current"
    assert done["marks"]["judgments"] == w.count("SELECT MAX(id) FROM judgments")


@step("report biblio")
def _report_biblio(w: World) -> None:
    data = json.loads(w.run("report", "biblio", "--json", "-").stdout)
    assert "papers" in data and "authors" in data
    markdown = w.run("report", "biblio").stdout
    assert markdown.startswith("#") and "{" not in markdown.splitlines()[0]


@step("eval run")
def _eval_run(w: World) -> None:
    first = CliRunner().invoke(cli.app, ["eval", "run", str(SUITE)], catch_exceptions=False)
    w.ran.append("eval run")
    result = json.loads((w.tmp / "eval-report" / "result.json").read_text())
    passed = all(t["passed"] for t in result["thresholds"])
    assert first.exit_code == (0 if passed else 1), first.output
    assert "synthetic" in first.stdout
    assert w.count("SELECT COUNT(*) FROM papers WHERE is_eval") == 30
    calls = len(w.fake.chat_requests())
    again = CliRunner().invoke(cli.app, ["eval", "run", str(SUITE), "--json", "--out", "again"], catch_exceptions=False)
    assert again.exit_code == first.exit_code
    data = json.loads(again.stdout)
    assert data["counts"]["n_total"] == 30 and data["thresholds"] == result["thresholds"]
    assert len(w.fake.chat_requests()) == calls  # answered from stored calls


@step("eval compare")
def _eval_compare(w: World) -> None:
    a, b = w.tmp / "eval-report" / "result.json", w.tmp / "again" / "result.json"
    assert "spearman" in w.run("eval", "compare", a, b).stdout
    data = json.loads(w.run("eval", "compare", a, b, "--json", "-").stdout)
    assert data["diffs"] and all(d["diff"] in (0, 0.0, None) for d in data["diffs"])
    table = w.run("eval", "compare", a, b, a, "--price-model", "gpt-4o-mini").stdout  # N runs: one table
    assert "calls/paper" in table and "human ceiling" in table


@step("eval baselines")
def _eval_baselines(w: World) -> None:
    assert "human ceiling Spearman" in w.run("eval", "baselines", SUITE, "--n-boot", "50").stdout
    data = json.loads(w.run("eval", "baselines", SUITE, "--n-boot", "50", "--json").stdout)
    assert data["suite"] == "synthetic" and "tfidf_ridge" in data["labels"]["ai"]


@step("eval fit")
def _eval_fit(w: World) -> None:
    prov = json.loads((w.tmp / "eval-report" / "result.json").read_text())["provenance"]
    ref = f"{prov['prompt_name']}@{prov['prompt_version']}"  # what eval run judged with
    args = ["eval", "fit", SUITE, "--prompt", ref, "--model", MODEL, "--folds", "3", "--n-boot", "100"]
    out = w.run(*args).stdout
    assert "held-out figures" in out and "synthetic" in out
    data = json.loads(w.run(*args, "--json").stdout)
    assert data["provenance"]["model"] == MODEL and data["provenance"]["prompt"] == ref
    assert "out_of_fold" in data["metrics"]["synthetic"]["ai"]
    assert w.count("SELECT COUNT(*) FROM fitted_heads WHERE kind = 'judgment'") == 2


@step("injection-suite")
def _injection_suite(w: World) -> None:
    before = len(w.fake.chat_requests())
    out = w.run("injection-suite").stdout
    assert "prompt injection" in out and "mean AI shift" in out
    report = json.loads(w.run("injection-suite", "--pairs", "2", "--json", "-").stdout)
    assert report["model"] == MODEL and report["pairs"] == 2
    assert len(w.fake.chat_requests()) > before


@step("worker")
def _worker(w: World) -> None:
    w.run("ingest", write_papers(w.tmp / "more.jsonl", 2, start=100))
    w.run("annotate", "--prompt", "score@1", "--limit", "0")  # queues them, judges nothing
    queued = w.count("SELECT COUNT(*) FROM tasks WHERE state = 'pending'")
    out = w.run("worker", "--prompt", "score@1", "--exit-when-idle", "--poll", "0.05").stdout
    assert queued >= 2 and f"done {queued}, failed 0" in out and "stopped: idle" in out
    assert w.count("SELECT COUNT(*) FROM tasks WHERE state <> 'done' AND state <> 'failed'") == 0
    assert (
        w.count("SELECT COUNT(*) FROM judgments j JOIN papers p ON p.id = j.paper_id WHERE p.title LIKE 'Study 10_:%'")
        == 2
    )


@step("db copy")
def _db_copy(w: World) -> None:
    copy = w.tmp / "copy.db"
    out = w.run("db", "copy", w.engine.url.database, copy).stdout
    assert "judgments" in out and "NO" not in out
    report = json.loads(w.run("db", "copy", w.engine.url.database, copy, "--json").stdout)
    assert report["ok"] and sum(t["copied"] for t in report["tables"]) == 0  # already there
    papers = next(t for t in report["tables"] if t["table"] == "papers")
    assert papers["dest_rows"] == w.count("SELECT COUNT(*) FROM papers")


@step("site build")
def _site_build(w: World) -> None:
    out = w.tmp / "site-cli"
    r = w.run("site", "build", "-o", out, "--page-size", "5")  # eval runs: ./eval-report by default
    assert "wrote" in r.output and (out / "index.html").is_file()
    papers = w.count("SELECT COUNT(*) FROM papers WHERE is_eval = :f", f=False)
    assert len(list((out / "paper").rglob("*.html"))) == papers
    assert len(list((out / "papers").glob("all-*.html"))) == -(-papers // 5)
    assert any(p.name != "index.html" for p in (out / "evals").glob("*.html"))
    w.values["site"] = out


@step("site serve")
def _site_serve(w: World) -> None:
    import subprocess
    import sys
    import urllib.request

    w.ran.append("site serve")
    proc = subprocess.Popen(
        [sys.executable, "-u", str(REPO / "cli.py"), "site", "serve", str(w.values["site"]), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[1]
        with urllib.request.urlopen(url + "authors/index.html", timeout=10) as resp:
            assert resp.status == 200 and "Authors" in resp.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _replayed(w: World):
    """The recorded arXiv/OpenAlex responses of tests/data/recorded, served on 127.0.0.1."""
    from test_feed_runs import FAST, ROUTES

    from annotator.feed.replay import ReplayServer

    for k, v in FAST.items():
        w.env.setenv(k, v)
    return ReplayServer(ROUTES)


@step("fetch arxiv")
def _fetch_arxiv(w: World) -> None:
    with _replayed(w) as server:
        args = [
            "fetch",
            "arxiv",
            "--category",
            "cs.CL",
            "--since",
            "2026-11-20",
            "--until",
            "2026-11-24",
            "--base-url",
            f"{server.base_url}/api/query",
        ]
        r = w.run(*args, exit_code=3)  # one malformed entry: reported, the rest stored
        assert "field 'title'" in r.output and "cat:cs.CL" in r.stdout
        assert w.count("SELECT COUNT(*) FROM papers WHERE arxiv_id LIKE '2611.001%'") == 4
        again = json.loads(w.run(*args, "--until", "2026-11-27", "--json").stdout)
        assert again["window_from"].startswith("2026-11-22T16:45") and again["new"] == 2


@step("fetch openalex")
def _fetch_openalex(w: World) -> None:
    with _replayed(w) as server:
        args = [
            "fetch",
            "openalex",
            "--filter",
            "primary_location.source.id:S4306400194",
            "--since",
            "2026-11-01",
            "--base-url",
            server.base_url,
            "--allow-rejects",
            "--json",
        ]
        got = json.loads(w.run(*args).stdout)
        assert (got["new"], got["rejected"], got["through"]) == (3, 1, "2026-11-18")


@step("feed run")
def _feed_run(w: World) -> None:
    with _replayed(w) as server:
        r = w.run(
            "feed",
            "run",
            "--category",
            "cs.CL",
            "--until",
            "2026-11-27",
            "--site",
            w.tmp / "site",
            "--arxiv-url",
            f"{server.base_url}/api/query",
            "--openalex-url",
            server.base_url,
        )
        assert "feed run" in r.stdout and "authors:" in r.stdout
        assert (w.tmp / "site" / "index.html").exists()
        assert (
            w.count(
                "SELECT COUNT(*) FROM papers p WHERE NOT EXISTS (SELECT 1 FROM tasks t "
                "WHERE t.paper_id = p.id) AND p.is_eval = :f",
                f=False,
            )
            == 0
        )


@step("fetch status")
def _fetch_status(w: World) -> None:
    assert "2026-11-26T08:00" in w.run("fetch", "status").stdout  # the arXiv cursor
    rows_ = json.loads(w.run("fetch", "status", "--all", "--json").stdout)
    by = {(r["source"], r["query"]): r for r in rows_}
    assert by[("arxiv-version", "2611.00101")]["position"] == "2"  # its newest version stored
    assert by[("openalex", "primary_location.source.id:S4306400194")]["through"] == "2026-11-18"
    assert by[("feed", "default")]["holder"] is None  # the run gave its lease back


# -- the tests ---------------------------------------------------------------------
def test_every_command_has_a_run():
    commands = command_paths(cli.app)
    assert {"ingest", "annotate", "queue", "queue retry", "batch collect", "eval run"} <= commands
    covered = {path for path, _ in STEPS} | set(COVERED_ELSEWHERE)
    missing = commands - covered
    assert not missing, f"commands without a run in {__name__}.STEPS: {sorted(missing)}"
    stale = covered - commands - {"annotate --batch"}
    assert not stale, f"steps for commands that no longer exist: {sorted(stale)}"


def test_every_command_runs(tmp_path, monkeypatch, fake_server, openalex, db_path, engine):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    w = World(
        tmp=tmp_path,
        fake=fake_server,
        openalex_url=openalex.base_url,
        engine=engine,
        prompts=private_prompts(tmp_path, monkeypatch),
        env=monkeypatch,
    )
    for path, fn in STEPS:
        before = len(w.ran)
        fn(w)
        assert path.split(" --")[0] in w.ran[before:], f"step {path!r} did not run {path!r}"
    assert command_paths(cli.app) - set(COVERED_ELSEWHERE) <= set(w.ran)


def test_version():
    from importlib.metadata import version

    result = CliRunner().invoke(cli.app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"annotator {version('annotator')}"


def test_shell_completion_is_enabled():
    help_text = CliRunner().invoke(cli.app, ["--help"]).stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text
    # the installed command; typer's switch for tests makes it take the shell by name instead
    # of looking for one among the parent processes (a run detached from any shell finds none)
    command = Path(sys.executable).with_name("annotator")
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    result = subprocess.run(
        [str(command), "--show-completion", "bash"], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "_ANNOTATOR_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F _annotator_completion annotator" in result.stdout


def test_nothing_imports_click_directly():
    for path in [REPO / "cli.py", *sorted((REPO / "annotator").rglob("*.py"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            assert words[:2] not in (["import", "click"], ["from", "click"]), f"{path}: {line}"


@pytest.mark.slow
def test_demo_json(db_path):
    """demo --json on the real local model (demo without it: tests/test_demo.py)."""
    result = CliRunner().invoke(cli.app, ["--db", db_path, "demo", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["model"] == "smollm2-135m-instruct" and len(data["judgments"]) == 6
    assert data["summary"]["done"] == 6
    from annotator.db import open_db

    assert rows(open_db(db_path), "SELECT COUNT(*) FROM judgments") == [(6,)]
