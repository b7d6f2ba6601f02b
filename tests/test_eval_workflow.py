"""The eval workflow runs in a plain checkout: repository files and one API key secret."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from annotator.evaluation import load_suite

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "eval.yml"


def _steps():
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["eval"]["steps"]


def test_only_secret_is_the_api_key():
    text = WORKFLOW.read_text()
    assert set(re.findall(r"secrets\.(\w+)", text)) == {"OPENAI_API_KEY"}
    assert "shared" not in text  # nothing from outside the checkout


def test_installs_the_way_the_makefile_does():
    runs = "\n".join(s.get("run", "") for s in _steps())
    assert "make setup" in runs and "pip install" not in runs
    assert re.search(r"^setup:", (REPO / "Makefile").read_text(), re.M)


def test_every_suite_the_workflow_runs_has_its_data_in_the_repository():
    commands = [
        line
        for s in _steps()
        for line in s.get("run", "").splitlines()
        if line.strip().startswith("annotator eval run")
    ]
    assert commands
    for command in commands:
        suite = load_suite(REPO / shlex.split(command)[3])
        assert suite.data_path.is_file()
        assert REPO in suite.data_path.parents
