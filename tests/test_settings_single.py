"""One settings object: every variable of the environment the code reads is a field of
``annotator.settings.Settings``, no module reads the environment for itself, and the
fields reach the code that uses them."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from pydantic import AliasChoices, BaseModel

from annotator.cli import app
from annotator.db.engine import database_url
from annotator.judge import local_model
from annotator.judge.client import ModelClient
from annotator.judge.prices import known_price
from annotator.polite import PoliteClient
from annotator.prompts.files import prompt_dirs
from annotator.settings import Settings, current, feed_settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "annotator"

# Reading the environment to hand it on to a child process is not configuration:
# (module, enclosing function) -> why
HANDED_ON = {
    ("annotator/testing/_process.py", "start"): "the fake server's process inherits it",
    ("annotator/judge/local_model.py", "start"): "llama-server's process, some variables dropped",
}


def env_names() -> set[str]:
    """Every variable ``Settings`` reads (a section's own name too: it takes JSON)."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice) for choice in alias.choices}
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"ANNOTATOR_{name.upper()}")
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            names |= {f"ANNOTATOR_{name}_{sub}".upper() for sub in section.model_fields}
    return names


def _reads(path: Path) -> list[tuple[int, str]]:
    """(line, enclosing function) of each read of ``os.environ`` / ``os.getenv``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            return  # os.environ[...] = value hands a value on (cli's --prompts)
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            found.append((node.lineno, function))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in ("environ", "getenv", "environb") for a in node.names)
        ):
            found.append((node.lineno, function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "")
    return found


def test_no_module_reads_the_environment_for_itself():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "annotator/settings.py":
            continue
        bad += [f"{rel}:{line} (in {fn or 'the module'})" for line, fn in _reads(path) if (rel, fn) not in HANDED_ON]
    assert not bad, "read the environment through annotator.settings instead:\n" + "\n".join(bad)


def test_the_scan_finds_a_read(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n\ndef f():\n    os.environ['A'] = '1'\n    return os.environ.get('ANNOTATOR_X'), os.getenv('Y')\n"
    )
    assert _reads(sample) == [(5, "f"), (5, "f")]


def test_every_variable_the_code_names_is_a_setting():
    names = env_names()
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in re.findall(r"\bANNOTATOR_[A-Z0-9_]*[A-Z0-9]", line):
                if name not in names:
                    bad.append(f"{path.relative_to(ROOT)}:{lineno}: {name}")
    assert not bad, "not a field of Settings:\n" + "\n".join(bad)


def _commands(command: Any) -> Iterator[Any]:
    """Every command the CLI builds (typer's own click: its classes, not ``click``'s)."""
    yield command
    if hasattr(command, "list_commands"):
        ctx = command.context_class(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                yield from _commands(sub)


def test_every_option_read_from_the_environment_is_a_setting():
    names = env_names()
    bad, seen = set(), 0
    for command in _commands(typer.main.get_command(app)):
        for param in command.params:
            envvars = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
            bad |= {f"{command.name} {param.name}: {e}" for e in envvars if e and e not in names}
            seen += 1
    assert seen > 200 and not bad, sorted(bad)


def test_every_variable_is_documented():
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert not sorted(n for n in env_names() if f"`{n}" not in page)


def test_retry_wait_scale_reaches_both_clients(monkeypatch):
    monkeypatch.setenv("ANNOTATOR_RETRY_WAIT_SCALE", "0.25")
    assert PoliteClient("arXiv", interval_s=0).wait_scale == 0.25
    assert ModelClient(model="m", base_url="http://127.0.0.1:9").wait_scale == 0.25
    monkeypatch.delenv("ANNOTATOR_RETRY_WAIT_SCALE")
    assert PoliteClient("arXiv", interval_s=0).wait_scale == 1.0


def test_fields_reach_their_users(monkeypatch, tmp_path):
    monkeypatch.setenv("ANNOTATOR_PRICES", '{"house-model": [1.5, 3]}')
    assert known_price("house-model") == (1.5, 3.0)
    monkeypatch.setenv("ANNOTATOR_DB", str(tmp_path / "x.db"))
    assert database_url() == f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("ANNOTATOR_PROMPTS", str(tmp_path))
    assert prompt_dirs() == [tmp_path]
    monkeypatch.setenv("ANNOTATOR_LOCAL_REPLICAS", "0")
    assert local_model.default_replicas() == 1
    monkeypatch.setenv("annotator_feed_arxiv_interval_s", "0.5")
    assert feed_settings().arxiv_interval_s == 0.5
    assert feed_settings(arxiv_interval_s=2).arxiv_interval_s == 2
    monkeypatch.setenv("ANNOTATOR_DEBUG", "0")  # any value, as before
    assert current().debug and get_settings().feed.arxiv_interval_s == 0.5
