"""Prompt files: validation on load, content hashes, the changed-content guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.db.engine import session_for
from annotator.db.models import Judgment, Paper
from annotator.errors import PromptError
from annotator.prompts.admin import new_version
from annotator.prompts.files import PROMPTS_DIR, content_hash, load_prompt, parse_prompt
from annotator.prompts.registry import activate, active_version, register_prompt

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


@pytest.mark.parametrize(
    "change, message",
    [
        (("description: test", "description: test\ncolour: red"), "colour"),
        (("variables: [title, abstract]", "variables: [title]"), "undeclared variable(s): abstract"),
        (("variables: [title, abstract]", "variables: [title, abstract, venue]"), "never used: venue"),
        (("version: 1", "version: one"), "version"),
        (("[user]", "[usr]"), "[system] and one [user]"),
    ],
)
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
        s.add(
            Judgment(
                paper_id=paper.id,
                prompt_version_id=pv.id,
                model="m",
                ai_score=1,
                novelty=2,
                rationale="r",
                prompt_name="t",
                prompt_version="1",
                prompt_hash=pv.content_hash,
            )
        )
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


def test_description_may_contain_three_dashes():
    text = GOOD.replace("description: test", "description: first draft --- scores only---no rubric")
    p = parse_prompt(text, "prompts/t/v1.md")
    assert p.meta.description == "first draft --- scores only---no rubric"
    assert p.user == "$title / ${abstract}"


def test_dashes_inside_the_body_stay_in_the_body():
    text = GOOD.replace("Score it.", "Score it.\n---\nThen stop.")
    p = parse_prompt(text)
    assert "Score it.\n---\nThen stop." in p.system


def test_delimiter_lines_may_end_with_blanks_or_crlf():
    p = parse_prompt(GOOD.replace("---\n", "---  \n").replace("\n", "\r\n"))
    assert p.meta.name == "t" and p.meta.variables == ["title", "abstract"]


@pytest.mark.parametrize(
    "change, where, field, words",
    [
        # a YAML syntax error: the list opened on line 5 is never closed
        (("variables: [title, abstract]", "variables: [title, abstract"), ":5,", "variables", "not valid YAML"),
        # a colon inside an unquoted description, line 4
        (("description: test", "description: ratio: 3 to 1"), ":4,", "description", "not valid YAML"),
        # a bad value on line 3
        (("version: 1", "version: one"), ":3,", "version", "integer"),
        # a misspelt key on line 5
        (("variables:", "variabels: [title, abstract]\nvariables:"), ":5,", "variabels", "unknown key"),
        # a nested bad value: params starts on line 5, temperature on line 6
        (("variables:", "params:\n  temperature: 9\nvariables:"), ":6,", "params.temperature", "less than"),
        # a YAML error inside a nested mapping, line 6
        (("variables:", "params:\n  seed: [1\nvariables:"), ":6,", "params.seed", "not valid YAML"),
    ],
)
def test_malformed_front_matter_names_file_line_and_field(change, where, field, words):
    with pytest.raises(PromptError) as err:
        parse_prompt(GOOD.replace(*change), "prompts/t/v1.md")
    msg = str(err.value)
    assert msg.startswith("prompts/t/v1.md:"), msg
    assert words in msg
    assert msg.startswith(f"prompts/t/v1.md{where} field '{field}'"), msg


def test_front_matter_that_is_never_closed_or_missing_is_named():
    with pytest.raises(PromptError, match=r"^p\.md:1: front matter opened here is never closed"):
        parse_prompt(GOOD.replace("---\n[system]", "[system]"), "p.md")
    with pytest.raises(PromptError, match=r"^p\.md:1: must start with a '---' line"):
        parse_prompt("--- name: t\n" + GOOD, "p.md")
    with pytest.raises(PromptError, match=r"^p\.md:1, field 'variables': required key is missing"):
        parse_prompt(GOOD.replace("variables: [title, abstract]\n", ""), "p.md")
