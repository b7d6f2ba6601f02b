"""Prompt files: validation on load, content hashes, the changed-content guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.errors import PromptError
from annotator.prompt_admin import new_version
from annotator.prompts import PROMPTS_DIR, content_hash, load_prompt, parse_prompt
from annotator.registry import activate, active_version, register_prompt
from db.engine import session_for
from db.models import Judgment, Paper

GOOD = """---
name: t
version: 1
description: test
variables: [title, abstract]
---
[system]
Score it. Output {"ai_score": 1}.
[user]
$title / ${abstract}
"""


def test_shipped_prompt_loads_and_renders():
    p = load_prompt("score@1")
    assert p.ref == "score@1"
    assert p.content_hash == content_hash((PROMPTS_DIR / "score" / "v1.md").read_text())
    messages = p.render(title="My title", abstract="My abstract")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "<paper>" in messages[1]["content"] and "My abstract" in messages[1]["content"]
    assert "untrusted" in messages[0]["content"]


def test_json_braces_need_no_escaping():
    p = parse_prompt(GOOD)
    assert 'Output {"ai_score": 1}.' in p.render(title="a", abstract="b")[0]["content"]


@pytest.mark.parametrize("change, message", [
    (("description: test", "description: test\ncolour: red"), "colour"),
    (("variables: [title, abstract]", "variables: [title]"), "undeclared variable(s): abstract"),
    (("variables: [title, abstract]", "variables: [title, abstract, venue]"), "never used: venue"),
    (("version: 1", "version: one"), "version"),
    (("[user]", "[usr]"), "[system] and one [user]"),
])
def test_bad_prompt_files_are_refused(change, message):
    text = GOOD.replace(*change)
    with pytest.raises(PromptError) as err:
        parse_prompt(text, "prompts/t/v1.md")
    assert message in str(err.value)
    assert "prompts/t/v1.md" in str(err.value)


def test_unknown_model_param_is_an_error():
    text = GOOD.replace("variables:", "params:\n  temprature: 0.2\nvariables:")
    with pytest.raises(PromptError, match="params.temprature"):
        parse_prompt(text)


def _write(tmp_path: Path, text: str, version: int = 1) -> Path:
    folder = tmp_path / "t"
    folder.mkdir(exist_ok=True)
    path = folder / f"v{version}.md"
    path.write_text(text)
    return path


def test_changed_content_is_refused_once_judged(tmp_path, engine):
    path = _write(tmp_path, GOOD)
    pv = register_prompt(engine, load_prompt("t@1", tmp_path))
    # editing before anything was judged is allowed
    path.write_text(GOOD.replace("Score it.", "Score it well."))
    pv = register_prompt(engine, load_prompt("t@1", tmp_path))
    with session_for(engine) as s:
        paper = Paper(key="k", title="T", norm_title="t", abstract="A")
        s.add(paper)
        s.commit()
        s.add(Judgment(paper_id=paper.id, prompt_version_id=pv.id, model="m", ai_score=1,
                       novelty=2, rationale="r", prompt_name="t", prompt_version="1",
                       prompt_hash=pv.content_hash))
        s.commit()
    path.write_text(GOOD.replace("Score it.", "Score it badly."))
    with pytest.raises(PromptError, match="annotator prompts new t"):
        register_prompt(engine, load_prompt("t@1", tmp_path))


def test_new_version_and_activation(tmp_path, engine):
    _write(tmp_path, GOOD)
    path = new_version("t", tmp_path)
    assert path.name == "v2.md"
    second = load_prompt("t", tmp_path)
    assert second.version == 2 and second.content_hash != load_prompt("t@1", tmp_path).content_hash
    register_prompt(engine, load_prompt("t@1", tmp_path))
    register_prompt(engine, second)
    activate(engine, "t", "1")
    assert active_version(engine, "t").version == "1"
    activate(engine, "t", "2")  # and roll back is the same call the other way
    assert active_version(engine, "t").version == "2"


def test_file_name_must_match_front_matter(tmp_path):
    _write(tmp_path, GOOD, version=3)
    with pytest.raises(PromptError, match="should be t/v1.md"):
        load_prompt("t@3", tmp_path)
