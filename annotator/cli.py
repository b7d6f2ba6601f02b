"""The ``annotator`` command: mounts the command groups of ``annotator/commands/``.

Each module there holds one group (or one top-level command) and only parses
arguments and calls the library. Expected failures are ``AnnotatorError``s;
``ErrorGroup`` turns them into a one-line message and the error's exit code
(set ``ANNOTATOR_DEBUG=1`` to see the traceback instead).
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from annotator.commands import (
    authors,
    batch,
    biblio,
    biblio_report,
    compare,
    costs,
    dbcopy,
    evals,
    feed,
    fetching,
    injection,
    judging,
    papers,
    prompts,
    site,
    tasks,
    workers,
)
from annotator.commands.common import err_console
from annotator.errors import AnnotatorError
from annotator.version import __version__


class ErrorGroup(TyperGroup):
    def invoke(self, ctx: Any) -> Any:  # typer's own click Context
        try:
            return super().invoke(ctx)
        except AnnotatorError as exc:
            if os.environ.get("ANNOTATOR_DEBUG"):
                raise
            # the message is text, not markup: "pip install -e '.[local]'" must keep its brackets
            err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(cls=ErrorGroup, no_args_is_help=True, add_completion=True,
                  help="LLM-assisted paper annotation and scoring.")

# (module, group name); None mounts the module's commands at the top level
COMMANDS = [
    (papers, None), (judging, None), (tasks, "queue"), (batch, "batch"),
    (prompts, "prompts"), (compare, None), (costs, None), (biblio, "biblio"),
    (authors, "authors"), (biblio_report, "report"), (evals, "eval"), (injection, None),
    (dbcopy, "db"),
    (workers, None),
    (site, "site"),
    (fetching, "fetch"), (feed, "feed"),
]
for module, name in COMMANDS:
    app.add_typer(module.app, name=name)


def package_version() -> str:
    """The installed package's version (the source tree's when it is not installed)."""
    try:
        return version("annotator")
    except PackageNotFoundError:
        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"annotator {package_version()}")
        raise typer.Exit()


@app.callback()
def root(ctx: typer.Context,
         db: str | None = typer.Option(None, "--db", envvar="ANNOTATOR_DB",
                                          help="Database: a path (SQLite) or a SQLAlchemy URL."),
         prompts: str | None = typer.Option(
             None, "--prompts", envvar="ANNOTATOR_PROMPTS", metavar="DIR",
             help="Prompt folder (default: ./prompts when present, then the packaged prompts)."),
         version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                      help="Print the version and exit.")) -> None:
    if prompts:  # read wherever a prompt is loaded, worker processes included
        os.environ["ANNOTATOR_PROMPTS"] = prompts
    ctx.obj = {"db": db}


def main() -> None:
    app()


if __name__ == "__main__":
    main()
