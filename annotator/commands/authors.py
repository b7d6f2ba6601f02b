"""``annotator authors``: profiles, as on a paper feed's author page, and leaderboards."""

from __future__ import annotations

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from annotator.biblio.aggregates import refresh
from annotator.biblio.profile_models import (
    AffiliationMetricRow,
    AffiliationScoreRow,
    AuthorProfile,
    AuthorRow,
    AuthorScoreRow,
    Leaderboard,
    ProfilePaper,
)
from annotator.biblio.profiles import author_profile, leaderboard
from annotator.commands.common import console, engine_of, print_json

app = typer.Typer(no_args_is_help=True, help="Author profiles and leaderboards.")


def _num(value: object, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def _ci(ci: list[float] | None) -> str:
    return f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else ""


def _authors_line(p: ProfilePaper) -> str:
    return ", ".join(p.authors) + (" et al." if p.authors_truncated else "")


def _beside(value: float | None, fmt: str) -> str:
    """The page's own number, dimmed, beside ours."""
    return f"   [dim](page: {fmt.format(value)})[/dim]" if value is not None else ""


def render_profile(profile: AuthorProfile, out: Console) -> None:
    """The profile as the feed shows it: header, then one row per paper."""
    rep = profile.reported
    head = Text.assemble((profile.name, "bold"), "\n", (profile.primary_category or "-", "cyan"))
    h_comp = profile.h_index_computed
    lines = [
        f"h-index {_num(profile.h_index)}"
        + (
            f"   [dim](computed from {profile.h_index_computed_from} papers' citations: {h_comp})[/dim]"
            if h_comp is not None
            else ""
        ),
        f"{_num(profile.papers)} papers   [dim]({profile.papers_stored} stored)[/dim]",
        f"{_num(profile.citations, '{:,}')} citations",
        f"Novelty {_num(profile.novelty, '{:.1f}')}%{_ci(profile.novelty_ci)}"
        f"  n={profile.n_judged}" + _beside(rep.novelty, "{:g}%"),
        f"AI Score {_num(profile.ai_score, '{:.1f}')}{_ci(profile.ai_score_ci)}"
        f"  n={profile.n_judged}" + _beside(rep.ai_score, "{:g}"),
    ]
    if profile.fitted is not None:
        f = profile.fitted
        lines.append(
            f"fitted head: AI Score {_num(f.ai_score, '{:.1f}')}, Novelty "
            f"{_num(f.novelty, '{:.1f}')}%  n={f.n}   [dim](annotator eval fit)[/dim]"
        )
    j = profile.judgments
    sources = sorted({m.source for m in profile.metrics.values() if m})
    foot = (f"[dim]scores: {j.prompt} / {j.model} ({j.chosen_by}); " if j else "[dim]scores: nothing judged yet; ") + (
        f"metrics: {', '.join(sources)}[/dim]" if sources else "metrics: none imported[/dim]"
    )
    if j and j.method == "embedding-head":
        foot += (
            "\n[dim]AI Score and Novelty here are an embedding head's predictions of "
            "reviewers' scores\n(percentiles of labelled ICLR/NeurIPS papers), not a "
            "reviewer's judgment; held-out figures in docs/heads.md[/dim]"
        )
    out.print(
        Panel(
            Group(head, Text(""), *(Text.from_markup(x) for x in lines), Text(""), Text.from_markup(foot)), expand=False
        )
    )
    papers = profile.paper_list
    shown = "" if len(papers) == profile.papers_stored else f" (newest {len(papers)} shown)"
    table = Table(title=f"{profile.papers_stored} Papers{shown}", title_justify="left")
    for col, kw in (
        ("cat", {}),
        ("date", {"no_wrap": True}),
        ("code", {}),
        ("title", {"ratio": 3}),
        ("authors · affiliations", {"ratio": 2}),
        ("AI", {"justify": "right"}),
        ("nov.", {"justify": "right"}),
        ("cites", {"justify": "right"}),
    ):
        table.add_column(col, **kw)
    for p in papers:
        affs = (" · " + ", ".join(p.affiliations)) if p.affiliations else ""
        table.add_row(
            p.category or "",
            p.published or "",
            "Code" if p.has_code else "",
            p.title,
            _authors_line(p) + affs,
            _num(p.ai_score),
            _num(p.novelty, "{}%"),
            _num(p.citations),
        )
    out.print(table)


@app.command("show")
def authors_show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name, '#ID', 'openalex:A..', 'orcid:..' or 's2:..'."),
    as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON."),
    prompt: str | None = typer.Option(None, help="NAME@VERSION (default: active, else latest 'score')."),
    model: str | None = typer.Option(None, help="Model (default: the one of the latest judgment)."),
    metrics_source: str | None = typer.Option(None, "--metrics-source", help="Only metrics from this source."),
    max_papers: int | None = typer.Option(None, min=0, help="List at most this many papers."),
):
    """An author's profile: h-index, papers, citations, mean Novelty % and AI Score with
    95% intervals beside the page's values, then their papers."""
    profile = author_profile(
        engine_of(ctx), name, prompt=prompt, model=model, metrics_source=metrics_source, max_papers=max_papers
    )
    if as_json:
        print_json(profile.to_json())
    else:
        render_profile(profile, console)


@app.command("top")
def authors_top(
    ctx: typer.Context,
    by: str = typer.Option("ai_score", "--by", help="ai_score, novelty, h_index or citations."),
    min_papers: int = typer.Option(
        1, "--min-papers", min=0, help="Judged papers (scores) or stored papers (metrics) needed."
    ),
    limit: int = typer.Option(20, min=1, max=10_000),
    affiliation: str | None = typer.Option(None, help="Only authors with papers tagged with this affiliation."),
    group: str = typer.Option("author", "--group", help="author, or affiliation to rank affiliations."),
    prompt: str | None = typer.Option(None, help="NAME@VERSION."),
    model: str | None = typer.Option(None, help="Model."),
    metrics_source: str | None = typer.Option(None, "--metrics-source"),
    as_json: bool = typer.Option(False, "--json", help="Print the leaderboard as JSON."),
):
    """Leaderboards of authors (or affiliations) by mean AI score, novelty, h-index or citations."""
    board = leaderboard(
        engine_of(ctx),
        by,
        min_papers=min_papers,
        limit=limit,
        affiliation=affiliation,
        group=group,
        prompt=prompt,
        model=model,
        metrics_source=metrics_source,
    )
    if as_json:
        print_json(board.to_json())
    else:
        render_board(board, console)


@app.command("refresh")
def authors_refresh(
    ctx: typer.Context,
    full: bool = typer.Option(False, "--full", help="Rebuild from nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON."),
):
    """Bring the leaderboard aggregates up to date (authors top does this itself when they
    are behind): new judgments, papers and metric snapshots are added; --full rebuilds."""
    done = refresh(engine_of(ctx), full=full)
    if as_json:
        print_json({"mode": done.mode, "seconds": round(done.seconds, 3), "why": done.why, "marks": done.marks})
    else:
        console.print(
            f"aggregates {'already current' if done.mode == 'current' else done.mode + ' refresh'}"
            + (f" ({done.why})" if done.why else "")
            + f" in {done.seconds:.2f} s; "
            f"through judgment {done.marks.get('judgments', 0)}, paper {done.marks.get('papers', 0)}"
        )


def _fitted_cell(r: AuthorRow) -> str:
    f = r.fitted if isinstance(r, AuthorScoreRow) else None
    return "" if f is None else f"{_num(f.ai_score, '{:.1f}')} · {_num(f.novelty, '{:.1f}')}"


def render_board(board: Leaderboard, out: Console) -> None:
    """A leaderboard as a table, or why it has no rows."""
    rows, by, affiliation = board.rows, board.by, board.affiliation
    if not rows:
        out.print(
            "no rows: nothing judged or imported matches"
            if board.judgments or by in ("h_index", "citations")
            else "nothing has been judged yet"
        )
        return
    title = f"top {len(rows)} by {by}" + (f" at {affiliation}" if affiliation else "")
    if board.group == "affiliation":
        cols = ["rank", "affiliation"] + (
            ["n_judged", "ai_score", "novelty"]
            if by in ("ai_score", "novelty")
            else ["papers_with_citations", "h_index", "citations"]
        )
        table = Table(*cols, title=title)
        for row in rows:
            assert isinstance(row, AffiliationScoreRow | AffiliationMetricRow)
            values = row.model_dump()
            table.add_row(*(_num(values[c], "{:.1f}" if isinstance(values[c], float) else "{}") for c in cols))
    else:
        fitted = any(isinstance(r, AuthorScoreRow) and r.fitted for r in rows)
        table = Table(
            "#", "author", "cat", "n judged", "AI score", "novelty %", "h-index", "citations", "papers", title=title
        )
        if fitted:
            table.add_column("fitted AI · nov.", justify="right")
        for r in rows:
            assert isinstance(r, AuthorRow)
            ai_ci, nov_ci = (r.ai_score_ci, r.novelty_ci) if isinstance(r, AuthorScoreRow) else (None, None)
            table.add_row(
                str(r.rank),
                f"{r.name} [dim]#{r.author_id}[/dim]",
                r.primary_category or "",
                str(r.n_judged),
                _num(r.ai_score, "{:.1f}") + _ci(ai_ci),
                _num(r.novelty, "{:.1f}") + _ci(nov_ci),
                _num(r.h_index),
                _num(r.citations, "{:,}"),
                _num(r.papers),
                *([_fitted_cell(r)] if fitted else []),
            )
    out.print(table)
