"""Author profiles like the feed's page, and leaderboards.

Aggregates (over the author's papers -- see ``snapshots`` -- without eval-suite
papers, using one judgment set -- see ``selection``):

* ``ai_score``: the mean of the papers' ``ai_score``; ``novelty``: the mean of
  their ``novelty`` (0-100, shown as %). ``n_judged`` papers count; unjudged
  papers are left out, not counted as zero.
* ``*_ci``: a 95% percentile bootstrap interval of that mean (resampling the
  judged papers, seeded, 2,000 draws); null below two judged papers.
* ``h_index``, ``citations``, ``papers``: the imported values that count (see
  ``snapshots`` for precedence); ``papers`` falls back to the number of stored
  papers when no source gave a works count.
* ``h_index_computed``: the h-index of the stored papers' latest citation counts,
  beside the imported one (null when no paper has a count).
* ``reported``: the source's own numbers as it printed them (the feed page's
  Novelty % and AI Score), never mixed with ours.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict

from sqlalchemy.engine import Connection, Engine

from annotator.biblio import aggregates as G
from annotator.biblio import mapped as M
from annotator.biblio import snapshots as S
from annotator.biblio.bootstrap import DEFAULT_BOOT, DEFAULT_SEED, mean_cis
from annotator.biblio.hindex import h_index_from
from annotator.biblio.profile_models import (
    AffiliationMetricRow,
    AffiliationScoreRow,
    AuthorProfile,
    AuthorRow,
    AuthorScoreRow,
    BoardRow,
    Bootstrap,
    JudgmentsUsed,
    Leaderboard,
    ProfilePaper,
    Reported,
)
from annotator.biblio.selection import JudgmentSet, resolve
from annotator.db.queries import bibliometrics as B
from annotator.db.queries import bibliometrics_boards as R
from annotator.db.queries import papers as P
from annotator.errors import InputError
from annotator.ingest.records import normalise_name

BOARDS = ("ai_score", "novelty", "h_index", "citations")
GROUPS = ("author", "affiliation")


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _cis(scored: list[tuple[int, int, int]], n_boot: int, seed: int) -> list[list[float] | None]:
    """Bootstrap intervals of the mean AI score and mean novelty from (paper_id, ai, novelty)
    rows: one shared resample, rows in paper id order so the answer does not depend on
    the order a query returned them in."""
    rows = sorted(scored)
    cis = mean_cis([[r[1] for r in rows], [r[2] for r in rows]], n_boot=n_boot, seed=seed)
    return [None if ci is None else [round(ci[0], 2), round(ci[1], 2)] for ci in cis]


# -- finding an author -----------------------------------------------------------
def find_author(conn: Connection, query: str) -> int:
    """An author id from ``#12``/``id:12``, an OpenAlex/ORCID id, or a name."""
    q = query.strip()
    for prefix in ("#", "id:"):
        if q.startswith(prefix) and q[len(prefix) :].isdigit():
            aid = int(q[len(prefix) :])
            if P.author_exists(conn, aid):
                return aid
            raise InputError(f"no author with id {aid}")
    for column, prefix in (("openalex_id", "openalex:"), ("orcid", "orcid:"), ("s2_id", "s2:")):
        if q.lower().startswith(prefix):
            found = P.author_ids_by(conn, column, q[len(prefix) :])
            if not found:
                raise InputError(f"no author with {column} {q[len(prefix) :]}")
            return found[0]
    norm = normalise_name(q)
    rows = P.authors_named(conn, norm)
    if len(rows) == 1:
        return rows[0][0]
    if rows:
        counts = P.authorship_counts(conn, [r[0] for r in rows])
        listed = "; ".join(f"#{r[0]} ({counts.get(r[0], 0)} papers)" for r in rows[:10])
        raise InputError(f"{len(rows)} authors are named {q!r}: {listed}. Pass one as '#ID'")
    first = norm.split(" ")[0] if norm else ""
    near = P.author_names_from(conn, first, 5) if first else []
    hint = f"; did you mean: {', '.join(near)}" if near else ""
    raise InputError(f"no author named {q!r}{hint}")


# -- one author ------------------------------------------------------------------
def author_profile(
    engine: Engine,
    query: str,
    *,
    prompt: str | None = None,
    model: str | None = None,
    metrics_source: str | None = None,
    max_papers: int | None = None,
    n_boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
) -> AuthorProfile:
    """The profile of one author (fields: see the module docstring).

    ``max_papers``: list only the newest this many papers (the aggregates still use all).
    """
    with engine.connect() as conn:
        aid = find_author(conn, query)
        jset = resolve(conn, prompt, model)
        return _profile(conn, aid, jset, metrics_source, max_papers, n_boot, seed)


def _profile(
    conn: Connection,
    aid: int,
    jset: JudgmentSet | None,
    metrics_source: str | None,
    max_papers: int | None,
    n_boot: int,
    seed: int,
) -> AuthorProfile:
    author = P.author_row(conn, aid)
    papers = sorted(B.author_papers(conn, aid), key=lambda p: (str(p["published"] or ""), p["id"]), reverse=True)
    pids = [p["id"] for p in papers]
    listed = papers[:max_papers] if max_papers is not None else papers
    shown = [p["id"] for p in listed]
    names, affs = defaultdict(list), defaultdict(list)
    for pid, name, _ in P.paper_authors(conn, shown):
        names[pid].append(name)
    for pid, name in P.paper_affiliations(conn, shown):
        affs[pid].append(name)
    scores: dict[int, tuple[int, int]] = {}
    if jset is not None and jset.model is not None and pids:
        scores = B.author_paper_scores(conn, aid, jset.prompt_version_id, jset.model)
    cites = B.author_paper_citations(conn, aid)
    metrics = S.author_metrics(conn, aid, metrics_source)

    ai = [scores[p][0] for p in pids if p in scores]
    nov = [scores[p][1] for p in pids if p in scores]
    h_comp, h_from = h_index_from(cites.get(p) for p in pids)
    category = author["primary_category"] or _most_common(p["category"] for p in papers)
    ai_ci, nov_ci = _cis([(p, *scores[p]) for p in pids if p in scores], n_boot, seed)
    fitted = M.fitted_by_paper(conn, jset, [p for p in pids if p in scores])
    return AuthorProfile(
        author_id=aid,
        name=author["name"],
        primary_category=category,
        h_index=_value(metrics, "h_index"),
        papers=_value(metrics, "works_count") if metrics["works_count"] else len(pids),
        citations=_value(metrics, "citations"),
        ai_score=_r(statistics.fmean(ai)) if ai else None,
        novelty=_r(statistics.fmean(nov)) if nov else None,
        ai_score_ci=ai_ci,
        novelty_ci=nov_ci,
        n_judged=len(ai),
        calibrated=M.calibrated_means(conn, jset, ai, nov),
        fitted=M.fitted_mean(fitted, [p for p in pids if p in scores]),
        h_index_computed=h_comp,
        h_index_computed_from=h_from,
        citations_computed=sum(cites.values()) if cites else None,
        papers_stored=len(pids),
        metrics={f: metrics[f] for f in S.AUTHOR_FIELDS},
        reported=Reported(**(metrics["reported"] or {})),
        judgments=_used(jset),
        bootstrap=Bootstrap(n_boot=n_boot, seed=seed),
        paper_list=[
            ProfilePaper(
                id=p["id"],
                title=p["title"],
                category=p["category"],
                published=str(p["published"]) if p["published"] else None,
                has_code=None if p["has_code"] is None else bool(p["has_code"]),
                authors=names[p["id"]],
                authors_truncated=bool(p["authors_truncated"]),
                affiliations=affs[p["id"]],
                ai_score=scores[p["id"]][0] if p["id"] in scores else None,
                novelty=scores[p["id"]][1] if p["id"] in scores else None,
                citations=cites.get(p["id"]),
                fitted_ai_score=fitted.get(p["id"], (None, None))[0],
                fitted_novelty=fitted.get(p["id"], (None, None))[1],
            )
            for p in listed
        ],
    )


def _value(metrics: dict, field: str) -> int | None:
    """The value of the snapshot that counts for ``field``, if any."""
    return metrics[field]["value"] if metrics[field] else None


def _used(jset: JudgmentSet | None) -> JudgmentsUsed | None:
    return None if jset is None else JudgmentsUsed(**jset.to_dict())


def _most_common(values) -> str | None:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


# -- leaderboards ----------------------------------------------------------------
def leaderboard(
    engine: Engine,
    by: str = "ai_score",
    *,
    min_papers: int = 1,
    limit: int = 20,
    affiliation: str | None = None,
    group: str = "author",
    prompt: str | None = None,
    model: str | None = None,
    metrics_source: str | None = None,
    n_boot: int = DEFAULT_BOOT,
    seed: int = DEFAULT_SEED,
    use_aggregates: bool = True,
) -> Leaderboard:
    """Top authors (or affiliations) by mean AI score, mean novelty, h-index or citations.

    ``min_papers``: authors need this many judged papers (``ai_score``/``novelty``) or
    stored papers (``h_index``/``citations``). ``affiliation``: only authors with at
    least one paper tagged with it (case-insensitive). ``group="affiliation"`` ranks
    affiliations instead: mean scores of their papers, the sum of their papers'
    citations, or the h-index of their papers' citations.

    ``use_aggregates``: rank from the aggregates (``aggregates``; refreshed first when
    stale); False computes everything from the raw tables. A board by h-index or
    citations from one ``metrics_source`` is always computed from the raw tables.
    """
    if by not in BOARDS:
        raise InputError(f"--by must be one of {', '.join(BOARDS)}", field="by")
    if group not in GROUPS:
        raise InputError(f"--group must be one of {', '.join(GROUPS)}", field="group")
    agg = use_aggregates and (by in ("ai_score", "novelty") or group == "affiliation" or metrics_source is None)
    if agg:
        G.ensure_fresh(engine)
    with engine.connect() as conn:
        jset = resolve(conn, prompt, model)
        if group == "affiliation":
            rows = _affiliation_board(conn, by, jset, min_papers, limit, affiliation, agg)
        elif by in ("ai_score", "novelty"):
            rows = _score_board(conn, by, jset, min_papers, limit, affiliation, n_boot, seed, agg)
        else:
            rows = _metric_board(conn, by, jset, min_papers, limit, affiliation, metrics_source, agg)
    return Leaderboard(
        by=by,
        group=group,
        min_papers=min_papers,
        limit=limit,
        affiliation=affiliation,
        metrics_source=metrics_source,
        judgments=_used(jset),
        rows=rows,
    )


def _score_board(
    conn: Connection,
    by: str,
    jset: JudgmentSet | None,
    min_papers: int,
    limit: int,
    affiliation: str | None,
    n_boot: int,
    seed: int,
    agg: bool,
) -> list[BoardRow]:
    if jset is None or jset.model is None:
        return []
    if agg:
        ids = G.top_scored_authors(conn, jset.prompt_version_id, jset.model, by, min_papers, limit, affiliation)
        return _fill_rows(conn, ids, jset, None, n_boot, seed, agg=True)
    top = R.top_scored_authors(conn, jset.prompt_version_id, jset.model, by, min_papers, limit, affiliation)
    return _fill_rows(conn, top, jset, None, n_boot, seed)


def _metric_board(
    conn: Connection,
    by: str,
    jset: JudgmentSet | None,
    min_papers: int,
    limit: int,
    affiliation: str | None,
    source: str | None,
    agg: bool,
) -> list[BoardRow]:
    if agg:
        ids = G.top_metric_authors(conn, by, min_papers, limit, affiliation)
        return _fill_rows(conn, ids, jset, source, 0, 0, agg=True)
    field = "h_index" if by == "h_index" else "citations"
    chosen = R.top_metric_authors(conn, field, source, min_papers, limit, affiliation)
    return _fill_rows(conn, chosen, jset, source, 0, 0)


def _fill_rows(
    conn: Connection,
    author_ids: list[int],
    jset: JudgmentSet | None,
    source: str | None,
    n_boot: int,
    seed: int,
    agg: bool = False,
) -> list[BoardRow]:
    """Leaderboard rows for these authors, in this order; with intervals when ``n_boot``.
    ``agg``: counts and sums from the aggregates (judged pairs are read for intervals only)."""
    if not author_ids:
        return []
    info = P.authors_by_id(conn, author_ids)
    pv, model = (jset.prompt_version_id, jset.model) if jset is not None else (None, None)
    sums: dict[int, tuple[int, int, int]] = {}
    if agg:
        papers = G.papers_stored(conn, author_ids)
        sums = G.author_sums(conn, pv, model, author_ids) if pv is not None and model else {}
    else:
        papers = R.author_pair_counts(conn, author_ids)
    scores: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    if model is not None and (n_boot or not agg):
        for aid, pid, ai, nov in R.author_pair_scores(conn, pv, model, author_ids):
            scores[aid].append((pid, ai, nov))
    if not agg:
        sums = {a: (len(v), sum(x[1] for x in v), sum(x[2] for x in v)) for a, v in scores.items()}
    rows: list[BoardRow] = []
    all_metrics = S.authors_metrics(conn, author_ids, source)
    fitted = M.fitted_by_paper(conn, jset, sorted({x[0] for v in scores.values() for x in v})) if n_boot else {}
    for rank, aid in enumerate(author_ids, start=1):
        metrics = all_metrics[aid]
        n, sum_ai, sum_nov = sums.get(aid, (0, 0, 0))
        row = AuthorRow(
            rank=rank,
            author_id=aid,
            name=info[aid].name,
            primary_category=info[aid].primary_category,
            n_judged=n,
            ai_score=_r(sum_ai / n) if n else None,
            novelty=_r(sum_nov / n) if n else None,
            h_index=_value(metrics, "h_index"),
            citations=_value(metrics, "citations"),
            papers=(_value(metrics, "works_count") if metrics["works_count"] else papers.get(aid, 0)),
            papers_stored=papers.get(aid, 0),
        )
        if n_boot:
            ai_ci, nov_ci = _cis(scores[aid], n_boot, seed)
            row = AuthorScoreRow(
                **row.model_dump(),
                ai_score_ci=ai_ci,
                novelty_ci=nov_ci,
                fitted=M.fitted_mean(fitted, [x[0] for x in scores[aid]]),
            )
        rows.append(row)
    return rows


def _affiliation_board(
    conn: Connection, by: str, jset: JudgmentSet | None, min_papers: int, limit: int, affiliation: str | None, agg: bool
) -> list[BoardRow]:
    if by in ("ai_score", "novelty"):
        if jset is None or jset.model is None:
            return []
        top = (G.affiliation_scores if agg else R.affiliation_scores)(
            conn, jset.prompt_version_id, jset.model, by, min_papers, limit, affiliation
        )
        return [
            AffiliationScoreRow(rank=i, affiliation=name, n_judged=n, ai_score=_r(ai), novelty=_r(nv))
            for i, (name, n, ai, nv) in enumerate(top, start=1)
        ]
    ranked: list[tuple[int | None, int, str, int]] = []  # (h-index, citations, name, papers)
    if agg:
        ranked = G.affiliation_stats(conn, min_papers, affiliation)
    per_aff: dict[str, list[int]] = defaultdict(list)
    for name, count in [] if agg else R.affiliation_citations(conn, affiliation):
        per_aff[name].append(count)
    for name, cites in per_aff.items():
        if len(cites) >= max(1, min_papers):
            h, n = h_index_from(cites)
            ranked.append((h, sum(cites), name, n))
    ranked.sort(key=lambda r: (-((r[0] or 0) if by == "h_index" else r[1]), r[2]))
    return [
        AffiliationMetricRow(rank=i, affiliation=name, papers_with_citations=n, h_index=h, citations=c)
        for i, (h, c, name, n) in enumerate(ranked[:limit], start=1)
    ]
