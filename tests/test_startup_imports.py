"""Start-up of the ``annotator`` command: ``--help`` and ``--version`` load only the CLI.

The commands are mounted lazily (``annotator/cli.py``): their modules, and the openai
client, the database layer and the numeric stack behind them, are imported only by
the command that runs. These tests run the real entry point in a fresh interpreter
and look at ``sys.modules`` when it exits, so an import added anywhere on the path
(a command module, ``annotator/__init__.py``, a shared helper) fails them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from annotator import cli

REPO = Path(__file__).resolve().parent.parent
HEAVY = (
    "openai",
    "sqlalchemy",
    "sqlmodel",
    "numpy",
    "sklearn",
    "scipy",
    "matplotlib",
    "jinja2",
    "httpx",
    "aiohttp",
    "annotator.db",
    "annotator.commands.common",
)

# Run the installed entry point's function, then report which heavy modules it loaded.
PROBE = """
import json, sys
heavy = sys.argv[2]
sys.argv = ["annotator", *json.loads(sys.argv[1])]
from annotator.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = [m for m in json.loads(heavy) if m in sys.modules]
print("\\nLOADED " + json.dumps({"code": code, "loaded": loaded}))
"""


def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[str, dict]:
    """stdout before the report, and the report: exit code and heavy modules loaded."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(HEAVY)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    out, _, report = proc.stdout.rpartition("\nLOADED ")
    return out, json.loads(report)


@pytest.mark.parametrize(
    ("args", "code"),
    [(("--help",), 0), (("--version",), 0), ((), 2), (("queue", "--help"), 0)],
    ids=["help", "version", "no-args", "queue-help"],
)
def test_help_and_version_leave_the_heavy_modules_unloaded(args, code):
    out, report = run_cli(*args)
    assert report["code"] in ((0, None) if code == 0 else (code,)), out
    assert out.strip(), "printed nothing"
    heavy = report["loaded"]
    if args == ("queue", "--help"):  # the queue's own module needs the database layer, no more
        heavy = [m for m in heavy if m.split(".")[0] not in ("sqlalchemy", "sqlmodel", "annotator")]
    assert heavy == [], f"annotator {' '.join(args)} imported {heavy}"


@pytest.mark.parametrize(
    "args",
    [("ingest", "--help"), ("site", "serve", "--help"), ("eval", "compare", "--help")],
    ids=lambda a: "-".join(a),
)
def test_the_help_of_a_light_command_leaves_the_database_layer_unloaded(args):
    """Their modules import their library inside the command; the shared helpers
    (``commands/common.py``) must not bring the database layer back."""
    out, report = run_cli(*args)
    assert report["code"] in (0, None) and "Usage:" in out, out
    heavy = [m for m in report["loaded"] if m != "annotator.commands.common"]
    assert heavy == [], f"annotator {' '.join(args)} imported {heavy}"


def test_help_lists_every_command_with_its_own_short_help():
    """The one-line help in ``cli.COMMANDS`` is what each command says of itself."""
    out, _ = run_cli("--help")
    root = cli.typer.main.get_command(cli.app)
    assert list(root.commands) == [m.name for m in cli.COMMANDS]
    for mount in cli.COMMANDS:
        real = root.commands[mount.name]
        assert real.name == mount.name
        own = (real.short_help or real.help or "").strip().split("\n\n")[0].replace("\n", " ")
        assert mount.help == own, mount.name
        assert f" {mount.name} " in out, f"--help does not list {mount.name}"
        assert " ".join(mount.help.split()[:3]) in " ".join(out.split()), mount.name


def test_every_command_of_a_mounted_module_is_in_the_table():
    """A command added to a module of ``annotator/commands/`` without a row in
    ``cli.COMMANDS`` would be invisible: ``--help`` and the command walk list the table."""
    for module in sorted({m.module for m in cli.COMMANDS}):
        mounted = {m.name for m in cli.COMMANDS if m.module == module}
        assert set(cli.module_commands(module)) == mounted, module


def test_completing_a_command_name_lists_the_table_without_loading_the_commands():
    out, report = run_cli(env={"_ANNOTATOR_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "annotator a"})
    assert report["code"] in (0, None), out
    assert '"annotate":"Judge every paper' in out and '"authors":"Author profiles' in out
    assert "ingest" not in out
    assert report["loaded"] == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("authors", "show", "Nobody"), 3, "error: no author named 'Nobody'"),
        (("prompts", "show", "nope@9"), 4, "error: no prompt file nope/v9.md"),
    ],
    ids=["input-error", "prompt-error"],
)
def test_an_annotator_error_in_a_lazily_loaded_command_is_one_line_and_its_exit_code(tmp_path, args, code, message):
    proc = subprocess.run(
        [sys.executable, "-c", "from annotator.cli import main; main()", "--db", str(tmp_path / "empty.db"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "ANNOTATOR_DEBUG"},
    )
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith(message) and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_an_unknown_command_is_a_usage_error_that_suggests_one():
    result = CliRunner().invoke(cli.app, ["qeueu"])
    assert result.exit_code == 2
    assert "No such command 'qeueu'" in result.output and "'queue'" in result.output
