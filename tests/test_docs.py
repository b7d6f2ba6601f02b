"""The README and docs/ cannot drift from the code.

Every ``annotator ...`` command they show (in code blocks, and in inline code that
starts with ``annotator``) names a real command path, and each option it passes is an
option of that command; every relative link leads to a file that exists, and to a
heading of it when the link names one. The README's first code block is the two
commands CI and a newcomer run.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from annotator.cli import app

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"(?<!`)`(annotator [^`]+)`(?!`)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
SEPARATORS = {"&&", "||", ";", "|", "do", "then", "&"}


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


# -- the commands ---------------------------------------------------------------------
def _logical_lines(block: str) -> list[str]:
    """Lines with their ``\\`` continuations joined."""
    out, current = [], ""
    for line in block.splitlines():
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        out.append(current + line)
        current = ""
    if current:
        out.append(current)
    return out


def _words(line: str) -> list[str]:
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return list(lexer)
    except ValueError:  # an unbalanced quote in prose: split on spaces
        return line.split("#")[0].split()


def _invocations(words: list[str]) -> list[list[str]]:
    """The argument lists of every ``annotator`` in a shell line."""
    out, start = [], True
    for i, word in enumerate(words):
        if start and word == "annotator":
            args = []
            for arg in words[i + 1 :]:
                if arg in SEPARATORS:
                    break
                args.append(arg)
            out.append(args)
        start = word in SEPARATORS or word == "$" or (start and "=" in word and not word.startswith("-"))
    return out


def documented_commands() -> list[tuple[str, int, list[str]]]:
    """(page, line, arguments) of every ``annotator`` command shown."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for block in FENCE.finditer(text):
            first = text.count("\n", 0, block.start(1)) + 1
            for offset, line in enumerate(_logical_lines(block.group(1))):
                for args in _invocations(_words(line.lstrip("$ "))):
                    found.append((rel(page), first + offset, args))
        prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for match in INLINE.finditer(prose):
            line = prose.count("\n", 0, match.start()) + 1
            inline = re.sub(r"[\[\]]", " ", match.group(1))  # `annotator authors refresh [--full]`
            for args in _invocations(_words(inline)):
                found.append((rel(page), line, args))
    return found


@cache
def _root():
    return typer.main.get_command(app)


def _options(command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        names.update(getattr(param, "opts", ()))
        names.update(getattr(param, "secondary_opts", ()))
    return names


def check(args: list[str]) -> tuple[str, list[str]]:
    """The command path ``args`` runs and the problems with it (none: it is real)."""
    command, words, problems = _root(), [], []
    allowed = _options(command)
    for arg in args:
        subs = getattr(command, "commands", None)
        if arg.startswith("-") and len(arg) > 1 and not re.fullmatch(r"-[\d.]+", arg):
            name = arg.split("=", 1)[0]
            if name not in allowed:
                problems.append(f"{name} is not an option of annotator {' '.join(words)}".rstrip())
            continue
        if subs is None:
            continue  # an argument or an option's value
        if arg not in subs:
            if re.fullmatch(r"[a-z][a-z-]*", arg) and not words:
                problems.append(f"annotator {arg} is not a command")
            elif re.fullmatch(r"[a-z][a-z-]*", arg):
                problems.append(f"{arg} is not a sub-command of annotator {' '.join(words)}")
            break
        command = subs[arg]
        words.append(arg)
        allowed = _options(command)
    return " ".join(words), problems


COMMANDS = documented_commands()


def test_the_pages_show_commands():
    assert len(COMMANDS) > 40, "the command parser found almost nothing: has the Markdown changed?"
    pages = {page for page, _, _ in COMMANDS}
    assert "README.md" in pages


@pytest.mark.parametrize("page,line,args", COMMANDS, ids=[f"{p}:{n}" for p, n, _ in COMMANDS])
def test_every_documented_command_is_real(page, line, args):
    path, problems = check(args)
    assert not problems, f"{page}:{line}: annotator {' '.join(args)}: {'; '.join(problems)}"


def test_the_checker_catches_what_does_not_exist():
    assert check(["authors", "show", "Name", "--json"]) == ("authors show", [])
    assert check(["--db", "x.db", "queue", "retry"])[1] == []
    assert check(["eval", "run", "iclr2022", "--fail-under", "spearman_ai=0.1", "--json", "-"])[1] == []
    assert check(["authors", "shows"])[1] == ["shows is not a sub-command of annotator authors"]
    assert check(["annotat"])[1] == ["annotator annotat is not a command"]
    assert check(["annotate", "--concurency", "8"])[1] == ["--concurency is not an option of annotator annotate"]
    assert check(["queue", "--limit", "3"])[1] == ["--limit is not an option of annotator queue"]


def test_every_command_path_shown_has_help():
    paths = sorted({check(args)[0] for _, _, args in COMMANDS} - {""})
    assert {"ingest", "annotate", "eval run", "site build"} <= set(paths)
    for path in paths:
        result = CliRunner().invoke(app, [*path.split(), "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, (path, result.output)


# -- the links ------------------------------------------------------------------------
def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings (repeats get -1, -2...)."""
    seen: dict[str, int] = {}
    out = set()
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def documented_links() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = FENCE.sub("", page.read_text(encoding="utf-8"))
        text = re.sub(r"`[^`\n]*`", "", text)
        for target in LINK.findall(text):
            if not re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                found.append((rel(page), target))
    return found


LINKS = documented_links()


@pytest.mark.parametrize("page,target", LINKS, ids=[f"{p}->{t}" for p, t in LINKS])
def test_every_relative_link_resolves(page, target):
    file, _, anchor = target.partition("#")
    path = (REPO / page).parent / file if file else REPO / page
    assert path.exists(), f"{page}: link to {target}: {file} does not exist"
    if anchor and path.suffix == ".md":
        assert anchor in anchors(path), f"{page}: link to {target}: no heading #{anchor} in {file or page}"


def test_the_readme_links_into_docs():
    assert any(page == "README.md" and target.startswith("docs/") for page, target in LINKS)


# -- the two commands at the top ------------------------------------------------------
def test_the_two_top_commands_are_what_ci_runs():
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:.*\n\t.*annotator demo", makefile, re.M)
    assert re.search(r"^test:.*\n\t.*\.ci/test\.sh", makefile, re.M)
