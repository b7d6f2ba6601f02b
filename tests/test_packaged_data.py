"""Prompts and eval suites from the package, from any folder.

Each test runs the command line in an empty folder, as a user of an installed copy
would: the prompts and suites must come from the package (``annotator/data``), a
project's own ``./prompts`` adds to them, ``prompts new`` writes beside the user's
work, and a shipped suite is named without a path. tests/test_install.py runs the
same commands from a wheel in a fresh virtualenv.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotator.cli import app
from annotator.evaluation import suites
from annotator.prompts.files import PROMPTS_DIR

REPO = Path(__file__).resolve().parent.parent
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
PACKAGED = {
    "embed@1",
    "score@1",
    "score-expected@1",
    "score-pairwise@1",
    "score-rubric@1",
    "score-tournament@1",
    "text-head@1",
    "score-samples@1",
}


@pytest.fixture
def elsewhere(tmp_path, monkeypatch, db_path) -> Path:
    """An empty current folder outside the checkout; ``--prompts`` may set the variable."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("ANNOTATOR_DB", db_path)
    monkeypatch.setenv("ANNOTATOR_PROMPTS", "")  # restored after the test, whatever the CLI sets
    return folder


def cli(*args, code: int = 0) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output.replace("\n", "")  # rich wraps long paths


def listed(*options) -> dict[str, dict]:
    result = CliRunner().invoke(app, [str(a) for a in (*options, "prompts", "list", "--json")])
    assert result.exit_code == 0, result.output
    return {row["ref"]: row for row in json.loads(result.stdout)}


def test_the_packaged_prompts_are_listed_from_an_empty_folder(elsewhere):
    assert set(listed()) == PACKAGED
    shown = cli("prompts", "show", "score@1")
    assert f"({PROMPTS_DIR / 'score' / 'v1.md'})" in shown
    assert not (elsewhere / "prompts").exists()


def test_a_local_prompts_folder_adds_to_the_packaged_ones_and_hides_their_namesakes(elsewhere):
    source = (REPO / "prompts" / "score" / "v1.md").read_text()
    (elsewhere / "prompts" / "score").mkdir(parents=True)
    (elsewhere / "prompts" / "score" / "v1.md").write_text(
        source.replace("description: ", "description: Local copy. ", 1)
    )
    (elsewhere / "prompts" / "mine").mkdir()
    (elsewhere / "prompts" / "mine" / "v1.md").write_text(source.replace("name: score", "name: mine", 1))
    rows = listed()
    assert set(rows) == PACKAGED | {"mine@1"}
    assert rows["score@1"]["description"].startswith("Local copy.")
    assert "(" + str(elsewhere / "prompts" / "score" / "v1.md") + ")" in cli("prompts", "show", "score@1")
    assert f"({PROMPTS_DIR / 'embed' / 'v1.md'})" in cli("prompts", "show", "embed@1")


def test_prompts_new_writes_into_the_current_folder_never_into_the_package(elsewhere):
    out = cli("prompts", "new", "score")
    written = elsewhere / "prompts" / "score" / "v2.md"
    assert f"created {written}" in out
    packaged = (PROMPTS_DIR / "score" / "v1.md").read_text()
    assert written.read_text() == re.sub(r"(?m)^version: 1$", "version: 2", packaged)
    assert not (PROMPTS_DIR / "score" / "v2.md").exists()
    assert {"score@1", "score@2"} <= set(listed())
    # the next one starts from the local v2
    cli("prompts", "new", "score")
    assert (elsewhere / "prompts" / "score" / "v3.md").exists()


def test_a_named_prompt_folder_is_the_only_one_read(elsewhere, tmp_path):
    mine = tmp_path / "mine"
    (mine / "score").mkdir(parents=True)
    (mine / "score" / "v1.md").write_text((REPO / "prompts" / "score" / "v1.md").read_text())
    (elsewhere / "prompts" / "other").mkdir(parents=True)  # ignored: a folder was named
    assert set(listed("--prompts", mine)) == {"score@1"}
    assert "no prompt named 'embed'" in cli("--prompts", mine, "prompts", "show", "embed", code=4)
    cli("--prompts", mine, "prompts", "new", "score")
    assert (mine / "score" / "v2.md").exists() and not (elsewhere / "prompts" / "score").exists()


def test_the_shipped_suites_are_the_suite_files_of_the_repository():
    assert suites.shipped_suite_names() == sorted(p.stem for p in (REPO / "evals").glob("*.toml"))
    assert {"iclr2017_2018", "iclr2022", "neurips2023"} <= set(suites.shipped_suite_names())


def test_a_shipped_suite_is_run_by_its_name(elsewhere, fake_server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    cli(
        "eval",
        "run",
        "iclr2022",
        "--model",
        "fake",
        "--sample-size",
        "5",
        "--n-boot",
        "100",
        "--no-plots",
        "--out",
        "report",
        *LOOSE,
    )
    result = json.loads((elsewhere / "report" / "result.json").read_text())
    assert result["provenance"]["data_path"] == "data/iclr2022_ratings_novelty.jsonl"
    assert len(fake_server.chat_requests()) == 5


def test_an_unknown_suite_name_lists_the_shipped_ones(elsewhere):
    out = cli("eval", "run", "iclr2099", code=3)
    assert "iclr2099" in out
    for name in suites.shipped_suite_names():
        assert name in out
    # a path that does not exist is still reported as a file that cannot be read
    assert "cannot read suite file" in cli("eval", "run", "nowhere/iclr2022.toml", code=3)


def test_nothing_in_the_repository_reads_a_folder_beside_the_checkout():
    """A user's clone has nothing beside it: the seed page is tests/data/seed_profile.txt."""
    beside = "../" + "shared"
    variable = "ANNOTATOR_" + "SHARED"
    files = [
        REPO / "README.md",
        REPO / "Makefile",
        *(REPO / ".ci").iterdir(),
        *(REPO / "tests").glob("*.py"),
        *(REPO / "bench").glob("*.py"),
    ]
    assert len(files) > 50
    found = [
        f"{path.relative_to(REPO)}:{n}"
        for path in files
        if path.is_file()
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if beside in line or variable in line
    ]
    assert not found
