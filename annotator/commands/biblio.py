"""Commands for bibliometrics: ``biblio import|fetch``, ``authors show|top``, ``report biblio``.

Mounted by ``cli.py``::

    from annotator.commands import biblio
    biblio.mount(app)

which is the same as::

    app.add_typer(biblio.biblio_app, name="biblio")
    app.add_typer(biblio.authors_app, name="authors")
    app.add_typer(biblio.report_app, name="report")

The commands read the database from the root ``--db`` option (``ctx.obj["db"]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from annotator.commands.output import is_stdout, print_json

console = Console()
err_console = Console(stderr=True)

biblio_app = typer.Typer(no_args_is_help=True,
                         help="Bibliometrics: import and fetch author and paper metrics.")
authors_app = typer.Typer(no_args_is_help=True, help="Author profiles and leaderboards.")
report_app = typer.Typer(no_args_is_help=True, help="Reports.")


def mount(app: typer.Typer) -> None:
    app.add_typer(biblio_app, name="biblio")
    app.add_typer(authors_app, name="authors")
    app.add_typer(report_app, name="report")


def _db(ctx: typer.Context) -> Optional[str]:
    obj = ctx.find_root().obj or {}
    return obj.get("db") if isinstance(obj, dict) else None


def _engine(ctx: typer.Context):
    from db import open_db

    return open_db(_db(ctx))


# -- biblio import / fetch -----------------------------------------------------------
def _print_import(report, show_unmatched: int) -> None:
    d = report.to_dict()
    console.print(
        f"authors: {d['authors']['matched']} matched, {d['authors']['unmatched']} unmatched; "
        f"papers: {d['papers']['matched']} matched, {d['papers']['unmatched']} unmatched; "
        f"added {d['author_metrics_added']} author and {d['paper_metrics_added']} paper snapshots, "
        f"{d['links_added']} author-paper links, {d['ids_filled']} ids", highlight=False)
    for u in report.unmatched[:show_unmatched]:
        err_console.print(f"[yellow]unmatched[/yellow] {u}", highlight=False, soft_wrap=True)
    if len(report.unmatched) > show_unmatched:
        err_console.print(f"... and {len(report.unmatched) - show_unmatched} more unmatched "
                          "(--json lists them all)")
    for error in report.errors[:20]:
        err_console.print(f"[yellow]unreadable[/yellow] {error}", highlight=False, soft_wrap=True)


@biblio_app.command("import")
def biblio_import(ctx: typer.Context,
                  paths: List[Path] = typer.Argument(..., exists=True, dir_okay=False,
                                                     help="Files; an author file and its works file can go together."),
                  source: Optional[str] = typer.Option(None, "--source",
                                                       help="openalex, s2, csv or feedpage (default: detected)."),
                  as_json: bool = typer.Option(False, "--json", help="Print the import report as JSON."),
                  show_unmatched: int = typer.Option(20, min=0, help="How many unmatched rows to list."),
                  allow_errors: bool = typer.Option(False, "--allow-errors",
                                                    help="Exit 0 even when some rows could not be read.")):
    """Import author and paper metrics, matched to stored authors and papers (ids first, then
    title or name); unmatched rows are reported. Re-importing adds nothing."""
    from annotator.biblio.save import import_paths

    report = import_paths(_engine(ctx), [str(p) for p in paths], source)
    if as_json:
        print_json(report.to_dict())
    else:
        _print_import(report, show_unmatched)
    if report.errors and not allow_errors:
        raise typer.Exit(3)


@biblio_app.command("fetch")
def biblio_fetch(ctx: typer.Context,
                 author: Optional[str] = typer.Option(None, "--author", help="Search OpenAlex by exact name."),
                 orcid: Optional[str] = typer.Option(None, "--orcid", help="The author's ORCID."),
                 openalex_id: Optional[str] = typer.Option(None, "--openalex-id", help="e.g. A5023888391."),
                 mailto: Optional[str] = typer.Option(None, "--mailto", envvar="ANNOTATOR_MAILTO",
                                                      help="Your e-mail, for OpenAlex's polite pool."),
                 base_url: Optional[str] = typer.Option(None, "--base-url", envvar="ANNOTATOR_OPENALEX_URL",
                                                        help="OpenAlex API root."),
                 max_works: Optional[int] = typer.Option(None, min=1, help="Read at most this many works."),
                 save: Optional[Path] = typer.Option(None, "--save", file_okay=False,
                                                     help="Keep the raw responses in this folder."),
                 ingest: bool = typer.Option(False, "--ingest", help="Also store the works (with abstracts) as papers."),
                 as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")):
    """Fetch an author and their works from OpenAlex, then import the metrics."""
    from annotator.biblio.fetch import fetch_author

    if not mailto:
        err_console.print("[yellow]note:[/yellow] no --mailto: OpenAlex serves anonymous "
                          "clients from a slower pool", highlight=False)
    result = fetch_author(_engine(ctx), name=author, orcid=orcid, openalex_id=openalex_id,
                          mailto=mailto, base_url=base_url, max_works=max_works, save_dir=save,
                          ingest=ingest)
    if as_json:
        print_json(result.to_dict())
        return
    a = result.author
    console.print(f"{a['name']} ({a['openalex_id']}): h-index {a['h_index']}, {a['works_count']} works, "
                  f"{a['cited_by_count']} citations; read {result.works} works in "
                  f"{result.requests} requests", highlight=False)
    for alt in result.alternatives[:5]:
        err_console.print(f"[yellow]also named so[/yellow] {alt['name']} ({alt['openalex_id']}, "
                          f"{alt['works_count']} works): pass --openalex-id to pick it", highlight=False)
    if result.ingested:
        i = result.ingested
        console.print(f"ingested works: new {i['new']}, updated {i['updated']}, unchanged "
                      f"{i['unchanged']}, rejected {i['rejected']}", highlight=False)
    _print_import(result.report, 20)
    for path in result.saved:
        err_console.print(f"saved {path}", highlight=False)


# -- authors show / top --------------------------------------------------------------
def _num(value, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def _ci(ci) -> str:
    return f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else ""


def _authors_line(p: dict) -> str:
    names = ", ".join(p["authors"])
    return names + (" et al." if p["authors_truncated"] else "")


def render_profile(profile: dict, out: Console) -> None:
    """The profile as the feed shows it: header, then one row per paper."""
    rep = profile["reported"]
    beside = lambda key, fmt="{}": (f"   [dim](page: {fmt.format(rep[key])})[/dim]"  # noqa: E731
                                    if rep.get(key) is not None else "")
    head = Text.assemble((profile["name"], "bold"), "\n", (profile["primary_category"] or "-", "cyan"))
    h_comp = profile["h_index_computed"]
    lines = [
        f"h-index {_num(profile['h_index'])}"
        + (f"   [dim](computed from {profile['h_index_computed_from']} papers' citations: {h_comp})[/dim]"
           if h_comp is not None else ""),
        f"{_num(profile['papers'])} papers   [dim]({profile['papers_stored']} stored)[/dim]",
        f"{_num(profile['citations'], '{:,}')} citations",
        f"Novelty {_num(profile['novelty'], '{:.1f}')}%{_ci(profile['novelty_ci'])}"
        f"  n={profile['n_judged']}" + beside("novelty", "{:g}%"),
        f"AI Score {_num(profile['ai_score'], '{:.1f}')}{_ci(profile['ai_score_ci'])}"
        f"  n={profile['n_judged']}" + beside("ai_score", "{:g}"),
    ]
    j = profile["judgments"]
    sources = sorted({m["source"] for m in profile["metrics"].values() if m})
    foot = (f"[dim]scores: {j['prompt']} / {j['model']} ({j['chosen_by']}); " if j
            else "[dim]scores: nothing judged yet; ") + \
        (f"metrics: {', '.join(sources)}[/dim]" if sources else "metrics: none imported[/dim]")
    out.print(Panel(Group(head, Text(""), *(Text.from_markup(x) for x in lines), Text(""),
                          Text.from_markup(foot)), expand=False))
    papers = profile["paper_list"]
    shown = "" if len(papers) == profile["papers_stored"] else f" (newest {len(papers)} shown)"
    table = Table(title=f"{profile['papers_stored']} Papers{shown}", title_justify="left")
    for col, kw in (("cat", {}), ("date", {"no_wrap": True}), ("code", {}), ("title", {"ratio": 3}),
                    ("authors · affiliations", {"ratio": 2}), ("AI", {"justify": "right"}),
                    ("nov.", {"justify": "right"}), ("cites", {"justify": "right"})):
        table.add_column(col, **kw)
    for p in papers:
        affs = (" · " + ", ".join(p["affiliations"])) if p["affiliations"] else ""
        table.add_row(p["category"] or "", p["published"] or "", "Code" if p["has_code"] else "",
                      p["title"], _authors_line(p) + affs, _num(p["ai_score"]),
                      _num(p["novelty"], "{}%"), _num(p["citations"]))
    out.print(table)


@authors_app.command("show")
def authors_show(ctx: typer.Context,
                 name: str = typer.Argument(..., help="A name, '#ID', 'openalex:A..', 'orcid:..' or 's2:..'."),
                 as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON."),
                 prompt: Optional[str] = typer.Option(None, help="NAME@VERSION (default: active, else latest 'score')."),
                 model: Optional[str] = typer.Option(None, help="Model (default: the one of the latest judgment)."),
                 metrics_source: Optional[str] = typer.Option(None, "--metrics-source",
                                                              help="Only metrics from this source."),
                 max_papers: Optional[int] = typer.Option(None, min=0, help="List at most this many papers.")):
    """An author's profile: h-index, papers, citations, mean Novelty % and AI Score with
    95% intervals beside the page's values, then their papers."""
    from annotator.biblio.profiles import author_profile

    profile = author_profile(_engine(ctx), name, prompt=prompt, model=model,
                             metrics_source=metrics_source, max_papers=max_papers)
    if as_json:
        print_json(profile)
    else:
        render_profile(profile, console)


@authors_app.command("top")
def authors_top(ctx: typer.Context,
                by: str = typer.Option("ai_score", "--by", help="ai_score, novelty, h_index or citations."),
                min_papers: int = typer.Option(1, "--min-papers", min=0,
                                               help="Judged papers (scores) or stored papers (metrics) needed."),
                limit: int = typer.Option(20, min=1, max=10_000),
                affiliation: Optional[str] = typer.Option(None, help="Only authors with papers tagged with this affiliation."),
                group: str = typer.Option("author", "--group", help="author, or affiliation to rank affiliations."),
                prompt: Optional[str] = typer.Option(None, help="NAME@VERSION."),
                model: Optional[str] = typer.Option(None, help="Model."),
                metrics_source: Optional[str] = typer.Option(None, "--metrics-source"),
                as_json: bool = typer.Option(False, "--json", help="Print the leaderboard as JSON.")):
    """Leaderboards of authors (or affiliations) by mean AI score, novelty, h-index or citations."""
    from annotator.biblio.profiles import leaderboard

    board = leaderboard(_engine(ctx), by, min_papers=min_papers, limit=limit,
                        affiliation=affiliation, group=group, prompt=prompt, model=model,
                        metrics_source=metrics_source)
    if as_json:
        print_json(board)
        return
    rows = board["rows"]
    if not rows:
        console.print("no rows: nothing judged or imported matches" if board["judgments"] or
                      by in ("h_index", "citations") else "nothing has been judged yet")
        return
    title = f"top {len(rows)} by {by}" + (f" at {affiliation}" if affiliation else "")
    if group == "affiliation":
        cols = ["rank", "affiliation"] + (["n_judged", "ai_score", "novelty"] if by in ("ai_score", "novelty")
                                          else ["papers_with_citations", "h_index", "citations"])
        table = Table(*cols, title=title)
        for r in rows:
            table.add_row(*(_num(r[c], "{:.1f}" if isinstance(r[c], float) else "{}") for c in cols))
    else:
        table = Table("#", "author", "cat", "n judged", "AI score", "novelty %", "h-index",
                      "citations", "papers", title=title)
        for r in rows:
            table.add_row(str(r["rank"]), f"{r['name']} [dim]#{r['author_id']}[/dim]",
                          r["primary_category"] or "", str(r["n_judged"]),
                          _num(r["ai_score"], "{:.1f}") + _ci(r.get("ai_score_ci")),
                          _num(r["novelty"], "{:.1f}") + _ci(r.get("novelty_ci")),
                          _num(r["h_index"]), _num(r["citations"], "{:,}"), _num(r["papers"]))
    console.print(table)


# -- report biblio -----------------------------------------------------------------
@report_app.command("biblio")
def report_biblio(ctx: typer.Context,
                  suite_file: Optional[Path] = typer.Option(None, "--suite-file", exists=True, dir_okay=False,
                                                            help="An eval suite (TOML) whose data has citations."),
                  data: Optional[Path] = typer.Option(None, "--data", exists=True, dir_okay=False,
                                                      help="A JSONL file with citations and a year."),
                  score_field: Optional[str] = typer.Option(None, "--score-field",
                                                            help="Column of the file to use as the score (default: stored judgments)."),
                  citations_field: Optional[str] = typer.Option(None, "--citations-field"),
                  year_field: Optional[str] = typer.Option(None, "--year-field"),
                  id_field: Optional[str] = typer.Option(None, "--id-field"),
                  keep_zero: Optional[bool] = typer.Option(None, "--keep-zero-citations/--zero-citations-missing",
                                                           help="Citation counts of 0 are missing unless kept."),
                  min_papers: int = typer.Option(3, "--min-papers", min=1,
                                                 help="Judged papers an author needs for the author correlation."),
                  prompt: Optional[str] = typer.Option(None, help="NAME@VERSION."),
                  model: Optional[str] = typer.Option(None, help="Model."),
                  n_boot: int = typer.Option(2000, "--n-boot", min=100),
                  seed: int = typer.Option(0),
                  md: Optional[Path] = typer.Option(None, "--md", help="Write Markdown here."),
                  json_path: Optional[Path] = typer.Option(None, "--json", help="Write JSON here ('-': print it instead of the Markdown)."),
                  png_dir: Optional[Path] = typer.Option(None, "--png-dir", file_okay=False,
                                                         help="Write scatter plots (PNG) here.")):
    """Spearman (95% bootstrap CI) of AI score against citations within publication year, and of
    authors' mean AI score against h-index; from the database, or from a data/suite file."""
    from annotator.biblio.report import biblio_report, to_markdown

    engine = None
    if (data is None and suite_file is None) or score_field is None:
        engine = _engine(ctx)
    report = biblio_report(engine, data=data, suite_file=suite_file, score_field=score_field,
                           id_field=id_field, year_field=year_field, citations_field=citations_field,
                           keep_zero_citations=keep_zero, prompt=prompt, model=model,
                           min_papers=min_papers, n_boot=n_boot, seed=seed)
    if png_dir:
        for path in report.write_pngs(png_dir):
            err_console.print(f"wrote {path}", highlight=False)
    if md:
        report.write_markdown(md)
        err_console.print(f"wrote {md}", highlight=False)
    if is_stdout(json_path):
        print_json(report.data)
        return
    if json_path:
        report.write_json(json_path)
        err_console.print(f"wrote {json_path}", highlight=False)
    console.print(to_markdown(report.data), markup=False, highlight=False, soft_wrap=True)
