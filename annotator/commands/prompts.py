"""``annotator prompts``: versioned prompt files."""

from __future__ import annotations

import json
import sys

import typer

from annotator.commands.common import console, engine_of, print_rows
from annotator.errors import PromptError
from annotator.prompts.admin import new_version, prompt_rows
from annotator.prompts.diff import diff_prompts, render_text
from annotator.prompts.files import load_prompt, parse_ref
from annotator.prompts.registry import activate

app = typer.Typer(no_args_is_help=True, help="Versioned prompt files.")


@app.command("list")
def prompts_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the versions as JSON.")):
    """Prompt versions on disk and in the database: hash, papers judged, active."""
    print_rows(
        prompt_rows(engine_of(ctx)),
        as_json,
        ("prompt", "hash", "judged", "active", "created", "description"),
        lambda r: (r.ref, r.hash[:12], str(r.judged), "yes" if r.active else "", r.created or "", r.description),
    )


@app.command("show")
def prompts_show(ref: str):
    """Print a prompt file."""
    p = load_prompt(ref)
    console.print(f"# {p.ref}  hash {p.content_hash}  ({p.path})", highlight=False)
    console.print(p.text, highlight=False, markup=False)


@app.command("new")
def prompts_new(name: str):
    """Copy the latest version of NAME to a new version file, ready to edit."""
    path = new_version(name)
    console.print(f"created {path}")


@app.command("activate")
def prompts_activate(ctx: typer.Context, ref: str):
    """Make NAME@VERSION the version profiles, exports and reports use."""
    name, version = parse_ref(ref)
    if version is None:
        raise typer.BadParameter("give NAME@VERSION")
    activate(engine_of(ctx), name, str(version))
    console.print(f"{name}@{version} is active")


@app.command("diff")
def prompts_diff(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="NAME@VERSION, e.g. score@1."),
    b: str = typer.Argument(..., help="NAME@VERSION, or just the version (2) for the same name."),
    context: int = typer.Option(3, min=0, help="Lines of context around changes."),
    as_json: bool = typer.Option(False, "--json", help="Print the diff as JSON."),
):
    """Show what changed between two prompt versions: text, params and output schema."""
    try:
        d = diff_prompts(a, b, context=context)
    except PromptError:  # a version whose file is gone: its text as stored when it was used
        d = diff_prompts(a, b, engine=engine_of(ctx), context=context)
    if as_json:
        sys.stdout.write(json.dumps(d.to_dict(), indent=2) + "\n")
        return
    for line in render_text(d).splitlines():
        style = None
        if line.startswith("+") and not line.startswith("+++"):
            style = "green"
        elif line.startswith("-") and not line.startswith("---"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("#"):
            style = "bold"
        console.print(line, style=style, highlight=False, markup=False, soft_wrap=True)
