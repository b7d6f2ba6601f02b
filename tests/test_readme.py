"""The README cannot drift from the code: its commands exist and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from annotator.cli import app

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def test_the_two_top_commands_are_what_ci_runs():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:.*\n\t.*annotator demo", makefile, re.M)
    assert re.search(r"^test:.*\n\t.*\.ci/test\.sh", makefile, re.M)


def _documented_commands() -> list[tuple[str, ...]]:
    found = set()
    for line in re.findall(r"^\s*annotator ([a-z][a-z -]+)", README, re.M):
        words = []
        for word in line.split():
            if word.startswith("-"):
                break
            words.append(word)
        found.add(tuple(words[:2]))
    return sorted(found)


@pytest.mark.parametrize("words", _documented_commands())
def test_every_documented_command_exists(words):
    root = typer.main.get_command(app)
    command = root.commands.get(words[0])
    assert command is not None, f"annotator {words[0]} is documented but does not exist"
    subcommands = getattr(command, "commands", None)
    if subcommands and len(words) == 2 and not words[1].startswith(("'", '"')):
        assert words[1] in subcommands, f"annotator {' '.join(words)} is documented but does not exist"
    result = CliRunner().invoke(app, [*words[: 2 if subcommands else 1], "--help"])
    assert result.exit_code == 0 and "Usage" in result.output, result.output
