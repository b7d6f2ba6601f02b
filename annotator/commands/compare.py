"""``annotator compare``: two prompt versions over the papers both judged."""

from __future__ import annotations

from pathlib import Path

import typer

from annotator.commands.common import engine_of, err_console, is_stdout, print_json, wide_console

app = typer.Typer()


@app.command("compare")
def compare(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="Baseline version, NAME@VERSION."),
    b: str = typer.Argument(..., help="New version, NAME@VERSION (or just the version)."),
    model: str | None = typer.Option(None, help="Model both versions ran with (needed when several did)."),
    threshold: float = typer.Option(10.0, help="A paper 'moved' when a score shifts by more than this."),
    top: int = typer.Option(10, min=0, help="How many biggest movers to list."),
    md: Path | None = typer.Option(None, "--md", help="Write a Markdown report here."),
    json_path: Path | None = typer.Option(
        None, "--json", help="Write the figures as JSON here ('-': print them instead of the table)."
    ),
    png: Path | None = typer.Option(None, "--png", help="Write a histogram of the shifts here."),
):
    """Compare two prompt versions over the papers both judged with the same model."""
    from annotator.evaluation import versions as cmp

    c = cmp.compare_versions(engine_of(ctx), a, b, model=model, threshold=threshold, top=top)
    if is_stdout(json_path):
        print_json(c.to_dict())
    else:
        cmp.render_rich(c, wide_console())
    if md:
        md.write_text(cmp.to_markdown(c), encoding="utf-8")
        err_console.print(f"wrote {md}", highlight=False)
    if json_path and not is_stdout(json_path):
        cmp.write_json(c, json_path)
        err_console.print(f"wrote {json_path}", highlight=False)
    if png:
        cmp.write_png(c, png)
        err_console.print(f"wrote {png}", highlight=False)
