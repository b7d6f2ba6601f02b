"""The Python API: the README's example runs as written, against the fake server."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import text

import annotator

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
SAMPLE = REPO / "annotator" / "data" / "sample_papers.jsonl"


def readme_python_example() -> str:
    match = re.search(r"^## Python API\n.*?```python\n(.*?)```", README, re.S | re.M)
    assert match, "the README has no Python API example"
    return match.group(1)


def test_readme_example_runs(fake_server, tmp_path, monkeypatch, capsys):
    shutil.copy(SAMPLE, tmp_path / "papers.jsonl")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    exec(compile(readme_python_example(), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    n_papers = len(SAMPLE.read_text(encoding="utf-8").splitlines())
    with annotator.open_db(str(tmp_path / "papers.db")).connect() as conn:
        judged = conn.execute(text("SELECT COUNT(*) FROM judgments")).scalar_one()
    assert judged == n_papers
    assert len(fake_server.chat_requests()) == n_papers
    assert "Sparse Adapters for Streaming Speech Translation on Phones" in printed


def test_public_names_are_the_api_functions():
    from annotator import api

    for name in [n for n in annotator.__all__ if n != "__version__"]:
        assert getattr(annotator, name) is getattr(api, name)


def test_an_unknown_name_is_an_attribute_error():
    try:
        annotator.no_such_function  # noqa: B018
    except AttributeError as exc:
        assert "no_such_function" in str(exc)
    else:
        raise AssertionError("annotator.no_such_function did not raise")
