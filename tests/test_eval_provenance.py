"""code_version(): package version, git commit and dirty flag, and no crash without git."""

import re
import shutil
from pathlib import Path

import pytest

from annotator.evaluation.results import Provenance, complete
from annotator.provenance import CodeVersion, code_version

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs git and a checkout")
def test_code_version_in_the_repo():
    cv = code_version(REPO)
    assert re.fullmatch(r"[0-9a-f]{40}", cv.commit) and isinstance(cv.dirty, bool)
    assert cv.label.startswith(f"{cv.version}+{cv.commit[:12]}")


def test_code_version_outside_a_repo(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    cv = code_version(tmp_path)
    assert (cv.commit, cv.dirty) == (None, None) and cv.label == cv.version


def test_code_version_without_git(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no git binary
    monkeypatch.setenv("GITHUB_SHA", "b" * 40)
    assert code_version(REPO) == CodeVersion(commit="b" * 40, dirty=None)
    assert code_version(REPO).label == f"{CodeVersion().version}+{'b' * 12}"


def test_complete_keeps_inputs_and_fills_gaps():
    prov = complete({"model": "m", "date": "2020-01-01"}, suite="s", model="ignored")
    assert isinstance(prov, Provenance)
    assert (prov.model, prov.date, prov.suite) == ("m", "2020-01-01", "s")
    assert "code_commit" in prov.model_dump()
