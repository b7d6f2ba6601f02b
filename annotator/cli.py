"""The ``annotator`` command: mounts the command groups of ``annotator/commands/``, lazily.

Each module there holds one group (or top-level commands) and only parses
arguments and calls the library. The modules are imported on first use: a
command imports its own module, and through it the openai client, the database
layer or the numeric stack it needs, and nothing the others need. ``--help``,
``--version`` and shell completion import none of them, so they answer at once.

``COMMANDS`` is the table of what is mounted where, with each command's one-line
help for the listing of ``--help``; ``tests/test_startup_imports.py`` checks that
each line is the one the command gives itself, so the table cannot drift. Typer
has no lazy loading of its own: ``LazyGroup`` is the root group (Typer builds it
from ``app``'s ``cls``) and its ``commands`` is a mapping that imports a module
when one of its commands is looked up.

Expected failures are ``AnnotatorError``s; ``LazyGroup.invoke`` turns them into a
one-line message and the error's exit code, for every command (set
``ANNOTATOR_DEBUG=1`` to see the traceback instead).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from annotator.errors import AnnotatorError
from annotator.version import __version__


class Mount(NamedTuple):
    """One top-level word of the command line and where it comes from."""

    name: str  # the word: a command or a group
    module: str  # its module in annotator/commands/
    group: bool  # True: the module's app is the group ``name``; False: ``name`` is one of its commands
    help: str  # the command's own one-line help (the first paragraph of its docstring or help=)


COMMANDS: tuple[Mount, ...] = (
    Mount("ingest", "papers", False, "Read papers into the database (idempotent: re-ingesting changes nothing)."),
    Mount("export", "papers", False, "Write papers with their judgments as JSONL (one paper a line) or CSV."),
    Mount("annotate", "judging", False, "Judge every paper that lacks a judgment for this prompt version and model."),
    Mount(
        "demo",
        "judging",
        False,
        "Judge the bundled sample papers offline: the embedding judge, or the text judge without the local extra.",
    ),
    Mount("queue", "tasks", True, "The durable task queue."),
    Mount("batch", "batch", True, "The Batch API: half price, answers within 24 hours."),
    Mount("prompts", "prompts", True, "Versioned prompt files."),
    Mount("compare", "compare", False, "Compare two prompt versions over the papers both judged with the same model."),
    Mount(
        "costs",
        "costs",
        False,
        "Tokens and cost of every stored model call (retries included) by prompt version, model and day.",
    ),
    Mount("biblio", "biblio", True, "Bibliometrics: import and fetch author and paper metrics."),
    Mount("authors", "authors", True, "Author profiles and leaderboards."),
    Mount("report", "biblio_report", True, "Reports."),
    Mount("eval", "evals", True, "Check judgments against labelled eval suites."),
    Mount(
        "injection-suite",
        "injection",
        False,
        "Pair clean abstracts with injected copies and report the score shift and the flags.",
    ),
    Mount("db", "dbcopy", True, "Whole databases: copy one to another."),
    Mount(
        "worker", "workers", False, "Judge queued tasks of ONE prompt version and model as they arrive, until stopped."
    ),
    Mount("site", "site", True, "A static site of the results: authors, papers, boards, prompts, evals."),
    Mount("fetch", "fetching", True, "Fetch new papers from arXiv or OpenAlex (a stored cursor per query)."),
    Mount("feed", "feed", True, "A scheduled paper feed: fetch, judge, publish."),
)
MOUNTS = {m.name: m for m in COMMANDS}


def module_commands(module: str) -> dict[str, Any]:
    """The top-level commands that ``annotator.commands.<module>`` mounts, built by Typer
    exactly as ``add_typer`` on the root would build them (a group under its name, or the
    module's commands side by side)."""
    mod = importlib.import_module(f"annotator.commands.{module}")
    host = typer.Typer()
    names = [m.name for m in COMMANDS if m.module == module and m.group]
    host.add_typer(mod.app, name=names[0] if names else None)
    return dict(typer.main.get_group(host).commands)


class LazyCommands(MutableMapping[str, Any]):
    """The root's sub-commands by name, in ``COMMANDS`` order; looking one up imports its
    module (once). Names, membership and order never import anything."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            mount = MOUNTS.get(name)
            if mount is None:
                raise KeyError(name)
            for key, cmd in module_commands(mount.module).items():
                self._loaded.setdefault(key, cmd)
        return self._loaded[name]

    def __setitem__(self, name: str, cmd: Any) -> None:
        self._loaded[name] = cmd

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in MOUNTS or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        yield from MOUNTS
        yield from (name for name in self._loaded if name not in MOUNTS)

    def __len__(self) -> int:
        return len(MOUNTS) + sum(1 for name in self._loaded if name not in MOUNTS)


class LazyGroup(TyperGroup):
    """The root group: sub-commands imported on first use, ``AnnotatorError`` as one line.

    Listing the commands (``--help``, completing a command name) shows placeholders
    that carry the name and the one-line help of ``COMMANDS``; running one, or asking
    for its own help, loads the real one."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        lazy = LazyCommands()
        for name, cmd in self.commands.items():  # any added on the Typer app itself
            lazy[name] = cmd
        self.commands = lazy
        self._listing = False

    @contextmanager
    def listing(self) -> Iterator[None]:
        """Within: ``get_command`` answers from the table for commands not loaded yet."""
        before, self._listing = self._listing, True
        try:
            yield
        finally:
            self._listing = before

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names alone: TyperGroup's own walks the items

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        commands = self.commands
        if self._listing and isinstance(commands, LazyCommands) and not commands.is_loaded(cmd_name):
            mount = MOUNTS.get(cmd_name)
            if mount is not None:
                return TyperCommand(name=mount.name, help=mount.help)
        return commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with self.listing():
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: Any, incomplete: str) -> Any:
        with self.listing():
            return super().shell_complete(ctx, incomplete)

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context
        try:
            return super().invoke(ctx)
        except AnnotatorError as exc:
            if _debug():
                raise
            from rich.console import Console
            from rich.markup import escape

            # the message is text, not markup: "pip install -e '.[local]'" must keep its brackets
            Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


def _debug() -> bool:
    """``ANNOTATOR_DEBUG``: errors raise with their traceback."""
    from annotator.settings import current

    try:
        return current().debug
    except AnnotatorError:  # a bad variable: the error being reported is likely its own
        return False


app = typer.Typer(
    cls=LazyGroup, no_args_is_help=True, add_completion=True, help="LLM-assisted paper annotation and scoring."
)


def package_version() -> str:
    """The installed package's version (the source tree's when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version  # only --version needs it

    try:
        return version("annotator")
    except PackageNotFoundError:
        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"annotator {package_version()}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None, "--db", envvar="ANNOTATOR_DB", help="Database: a path (SQLite) or a SQLAlchemy URL."
    ),
    prompts: str | None = typer.Option(
        None,
        "--prompts",
        envvar="ANNOTATOR_PROMPTS",
        metavar="DIR",
        help="Prompt folder (default: ./prompts when present, then the packaged prompts).",
    ),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
    ),
) -> None:
    if prompts:  # read wherever a prompt is loaded, worker processes included
        os.environ["ANNOTATOR_PROMPTS"] = prompts
    ctx.obj = {"db": db}


def main() -> None:
    app()


if __name__ == "__main__":
    main()
