"""``annotator site``: build the static site, serve it on 127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from annotator.commands.common import console, engine_of, err_console

app = typer.Typer(no_args_is_help=True, help="A static site of the results: authors, papers, boards, prompts, evals.")


@app.command("build")
def site_build(
    ctx: typer.Context,
    out: Path = typer.Option(Path("site"), "-o", "--out", help="Folder to write the site into."),
    min_author_papers: int = typer.Option(
        1, "--min-author-papers", min=1, help="Write author pages only for authors with this many papers."
    ),
    page_size: int = typer.Option(100, "--page-size", min=1, max=100_000, help="Papers per list page."),
    evals: list[Path] = typer.Option(
        [],
        "--evals",
        help="Folder (searched for result.json) or result.json of eval runs; repeatable. "
        "Default: ./eval-report when it exists.",
    ),
):
    """Write the site: HTML and CSS that work opened from the file system or from any static host."""
    from annotator.site import build_site

    eval_dirs = list(evals) or ([Path("eval-report")] if Path("eval-report").is_dir() else [])
    s = build_site(engine_of(ctx), out, min_author_papers=min_author_papers, page_size=page_size, eval_dirs=eval_dirs)
    err_console.print(
        f"wrote {s.pages:,} pages in {s.seconds:.1f} s: {s.papers:,} papers, "
        f"{s.authors:,} authors, {s.prompt_versions} prompt versions, {s.eval_runs} eval runs",
        highlight=False,
    )
    console.print(f"open {s.out_dir / 'index.html'}", highlight=False, soft_wrap=True)


@app.command("serve")
def site_serve(
    directory: Path = typer.Argument(Path("site"), help="A built site."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port on 127.0.0.1 (0: any free port)."),
):
    """Serve a built site on 127.0.0.1 until Ctrl-C."""
    from annotator.site.serve import make_server

    server = make_server(directory, port)
    host, bound = server.server_address[:2]
    console.print(f"serving http://{host!s}:{bound}/ from {directory} (Ctrl-C stops)", highlight=False, soft_wrap=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
