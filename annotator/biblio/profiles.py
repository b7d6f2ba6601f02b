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

from sqlalchemy import text
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
        if q.startswith(prefix) and q[len(prefix):].isdigit():
            aid = int(q[len(prefix):])
            if conn.execute(text("SELECT 1 FROM authors WHERE id = :i"), {"i": aid}).first():
                return aid
            raise InputError(f"no author with id {aid}")
    for column, prefix in (("openalex_id", "openalex:"), ("orcid", "orcid:"), ("s2_id", "s2:")):
        if q.lower().startswith(prefix):
            row = conn.execute(text(f"SELECT id FROM authors WHERE {column} = :v"),
                               {"v": q[len(prefix):]}).first()
            if row is None:
                raise InputError(f"no author with {column} {q[len(prefix):]}")
            return row[0]
    norm = normalise_name(q)
    rows = conn.execute(text("SELECT id, name FROM authors WHERE norm_name = :n ORDER BY id"),
                        {"n": norm}).all()
    if len(rows) == 1:
        return rows[0][0]
    if rows:
        counts: dict[int, int] = dict(conn.execute(S.with_lists(
            "SELECT author_id, COUNT(*) FROM authorships WHERE author_id IN :ids GROUP BY author_id", "ids"),
            {"ids": [r[0] for r in rows]}).all())
        listed = "; ".join(f"#{r[0]} ({counts.get(r[0], 0)} papers)" for r in rows[:10])
        raise InputError(f"{len(rows)} authors are named {q!r}: {listed}. Pass one as '#ID'")
    first = norm.split(" ")[0] if norm else ""
    near = [r[0] for r in conn.execute(text(
        "SELECT name FROM authors WHERE norm_name >= :lo AND norm_name < :hi ORDER BY norm_name LIMIT 5"),
        {"lo": first, "hi": first + "\uffff"})] if first else []
    hint = f"; did you mean: {', '.join(near)}" if near else ""
    raise InputError(f"no author named {q!r}{hint}")


# -- one author ------------------------------------------------------------------
def author_profile(engine: Engine, query: str, *, prompt: str | None = None,
                   model: str | None = None, metrics_source: str | None = None,
                   max_papers: int | None = None, n_boot: int = DEFAULT_BOOT,
                   seed: int = DEFAULT_SEED) -> AuthorProfile:
    """The profile of one author (fields: see the module docstring).

    ``max_papers``: list only the newest this many papers (the aggregates still use all).
    """
    with engine.connect() as conn:
        aid = find_author(conn, query)
        jset = resolve(conn, prompt, model)
        return _profile(conn, aid, jset, metrics_source, max_papers, n_boot, seed)


def _profile(conn: Connection, aid: int, jset: JudgmentSet | None, metrics_source: str | None,
             max_papers: int | None, n_boot: int, seed: int) -> AuthorProfile:
    author = conn.execute(text("SELECT id, name, primary_category FROM authors WHERE id = :a"),
                          {"a": aid}).mappings().one()
    papers = conn.execute(text(
        "SELECT id, title, category, published, has_code, authors_truncated FROM papers "
        f"WHERE id IN ({S.author_paper_ids_sql()}) AND is_eval = :f"),
        {"author": aid, "f": False}).mappings().all()
    papers = sorted(papers, key=lambda p: (str(p["published"] or ""), p["id"]), reverse=True)
    pids = [p["id"] for p in papers]
    mine_sql = f"SELECT p.id FROM papers p WHERE p.id IN ({S.author_paper_ids_sql()}) AND p.is_eval = :f"
    mine_params = {"author": aid, "f": False}
    listed = papers[:max_papers] if max_papers is not None else papers
    shown = {"ids": [p["id"] for p in listed]}
    names, affs = defaultdict(list), defaultdict(list)
    for pid, name in conn.execute(S.with_lists(
            "SELECT s.paper_id, a.name FROM authorships s JOIN authors a ON a.id = s.author_id "
            "WHERE s.paper_id IN :ids ORDER BY s.paper_id, s.position", "ids"), shown):
        names[pid].append(name)
    for pid, name in conn.execute(S.with_lists(
            "SELECT pa.paper_id, af.name FROM paper_affiliations pa JOIN affiliations af "
            "ON af.id = pa.affiliation_id WHERE pa.paper_id IN :ids "
            "ORDER BY pa.paper_id, pa.position", "ids"), shown):
        affs[pid].append(name)
    scores: dict[int, tuple[int, int]] = {}
    if jset is not None and jset.model is not None and pids:
        for pid, ai, nov in conn.execute(text(
                "SELECT paper_id, ai_score, novelty FROM judgments WHERE prompt_version_id = :pv "
                f"AND model = :m AND paper_id IN ({mine_sql})"),
                {"pv": jset.prompt_version_id, "m": jset.model, **mine_params}):
            scores[pid] = (ai, nov)
    cites = S.latest_paper_citations(conn, mine_sql, mine_params)
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
        paper_list=[ProfilePaper(
            id=p["id"], title=p["title"], category=p["category"],
            published=str(p["published"]) if p["published"] else None,
            has_code=None if p["has_code"] is None else bool(p["has_code"]),
            authors=names[p["id"]], authors_truncated=bool(p["authors_truncated"]),
            affiliations=affs[p["id"]],
            ai_score=scores[p["id"]][0] if p["id"] in scores else None,
            novelty=scores[p["id"]][1] if p["id"] in scores else None,
            citations=cites.get(p["id"]),
            fitted_ai_score=fitted.get(p["id"], (None, None))[0],
            fitted_novelty=fitted.get(p["id"], (None, None))[1],
        ) for p in listed],
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
def leaderboard(engine: Engine, by: str = "ai_score", *, min_papers: int = 1, limit: int = 20,
                affiliation: str | None = None, group: str = "author",
                prompt: str | None = None, model: str | None = None,
                metrics_source: str | None = None, n_boot: int = DEFAULT_BOOT,
                seed: int = DEFAULT_SEED, use_aggregates: bool = True) -> Leaderboard:
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
    agg = use_aggregates and (by in ("ai_score", "novelty") or group == "affiliation"
                              or metrics_source is None)
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
    return Leaderboard(by=by, group=group, min_papers=min_papers, limit=limit,
                       affiliation=affiliation, metrics_source=metrics_source,
                       judgments=_used(jset), rows=rows)


def _aff_filter(affiliation: str | None, column: str) -> str:
    return f" AND {column} IN ({S.authors_tagged_sql()})" if affiliation else ""


def _params(jset: JudgmentSet | None, **extra: object) -> dict[str, object]:
    return {"pv": jset.prompt_version_id if jset else None, "m": jset.model if jset else None,
            "is_eval_true": True, **extra}


def _score_board(conn: Connection, by: str, jset: JudgmentSet | None, min_papers: int, limit: int,
                 affiliation: str | None, n_boot: int, seed: int, agg: bool) -> list[BoardRow]:
    if jset is None or jset.model is None:
        return []
    if agg:
        ids = G.top_scored_authors(conn, jset.prompt_version_id, jset.model, by, min_papers, limit,
                                   affiliation)
        return _fill_rows(conn, ids, jset, None, n_boot, seed, agg=True)
    sql = (f"SELECT x.author_id, COUNT(*) AS n, AVG(x.ai_score) AS ai, AVG(x.novelty) AS nov "
           f"FROM ({S.JUDGED_PAIRS_SQL}) x WHERE 1 = 1{_aff_filter(affiliation, 'x.author_id')} "
           "GROUP BY x.author_id HAVING COUNT(*) >= :min "
           f"ORDER BY {'ai' if by == 'ai_score' else 'nov'} DESC, n DESC, x.author_id LIMIT :limit")
    top = conn.execute(text(sql), _params(jset, min=max(1, min_papers), limit=limit,
                                          aff=affiliation)).all()
    return _fill_rows(conn, [r[0] for r in top], jset, None, n_boot, seed)


def _metric_board(conn: Connection, by: str, jset: JudgmentSet | None, min_papers: int,
                  limit: int, affiliation: str | None, source: str | None, agg: bool) -> list[BoardRow]:
    if agg:
        ids = G.top_metric_authors(conn, by, min_papers, limit, affiliation)
        return _fill_rows(conn, ids, jset, source, 0, 0, agg=True)
    field = "h_index" if by == "h_index" else "citations"
    sql = (f"SELECT lm.author_id FROM ({S.latest_author_metrics_sql(field, source)}) lm "
           f"WHERE 1=1{_aff_filter(affiliation, 'lm.author_id')} ORDER BY lm.value DESC, lm.author_id")
    chosen: list[int] = []
    result = conn.execute(text(sql), _params(jset, source=source, aff=affiliation))
    count_sql = text(f"SELECT COUNT(*) FROM papers WHERE id IN ({S.author_paper_ids_sql()}) "
                     "AND is_eval = :f")
    for (aid,) in result:
        if min_papers > 0:
            n = conn.execute(count_sql, {"author": aid, "f": False}).scalar_one()
            if n < min_papers:
                continue
        chosen.append(aid)
        if len(chosen) >= limit:
            break
    result.close()
    return _fill_rows(conn, chosen, jset, source, 0, 0)


def _fill_rows(conn: Connection, author_ids: list[int], jset: JudgmentSet | None,
               source: str | None, n_boot: int, seed: int, agg: bool = False) -> list[BoardRow]:
    """Leaderboard rows for these authors, in this order; with intervals when ``n_boot``.
    ``agg``: counts and sums from the aggregates (judged pairs are read for intervals only)."""
    if not author_ids:
        return []
    info = {r.id: r for r in conn.execute(S.with_lists(
        "SELECT id, name, primary_category FROM authors WHERE id IN :authors", "authors"),
        {"authors": author_ids})}
    pv, model = (jset.prompt_version_id, jset.model) if jset is not None else (None, None)
    sums: dict[int, tuple[int, int, int]] = {}
    if agg:
        papers = G.papers_stored(conn, author_ids)
        sums = G.author_sums(conn, pv, model, author_ids) if pv is not None and model else {}
    else:
        papers = dict(conn.execute(S.with_lists(
            f"SELECT x.author_id, COUNT(*) FROM ({S.AUTHOR_PAIRS_SQL}) x GROUP BY x.author_id", "authors"),
            {"is_eval_true": True, "authors": author_ids}).all())
    scores: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    if model is not None and (n_boot or not agg):
        for aid, pid, ai, nov in conn.execute(S.with_lists(
                f"SELECT x.author_id, x.paper_id, j.ai_score, j.novelty FROM ({S.AUTHOR_PAIRS_SQL}) x "
                "JOIN judgments j ON j.paper_id = x.paper_id AND j.prompt_version_id = :pv AND j.model = :m",
                "authors"), _params(jset, authors=author_ids)):
            scores[aid].append((pid, ai, nov))
    if not agg:
        sums = {a: (len(v), sum(x[1] for x in v), sum(x[2] for x in v)) for a, v in scores.items()}
    rows: list[BoardRow] = []
    all_metrics = S.authors_metrics(conn, author_ids, source)
    fitted = M.fitted_by_paper(conn, jset, sorted({x[0] for v in scores.values() for x in v})) \
        if n_boot else {}
    for rank, aid in enumerate(author_ids, start=1):
        metrics = all_metrics[aid]
        n, sum_ai, sum_nov = sums.get(aid, (0, 0, 0))
        row = AuthorRow(
            rank=rank, author_id=aid, name=info[aid].name,
            primary_category=info[aid].primary_category, n_judged=n,
            ai_score=_r(sum_ai / n) if n else None, novelty=_r(sum_nov / n) if n else None,
            h_index=_value(metrics, "h_index"),
            citations=_value(metrics, "citations"),
            papers=(_value(metrics, "works_count") if metrics["works_count"]
                    else papers.get(aid, 0)),
            papers_stored=papers.get(aid, 0),
        )
        if n_boot:
            ai_ci, nov_ci = _cis(scores[aid], n_boot, seed)
            row = AuthorScoreRow(**row.model_dump(), ai_score_ci=ai_ci, novelty_ci=nov_ci,
                                 fitted=M.fitted_mean(fitted, [x[0] for x in scores[aid]]))
        rows.append(row)
    return rows


def _affiliation_board(conn: Connection, by: str, jset: JudgmentSet | None, min_papers: int,
                       limit: int, affiliation: str | None, agg: bool) -> list[BoardRow]:
    where = (f"WHERE pa.paper_id NOT IN ({S.EVAL_PAPERS_SQL})"
             + (" AND lower(af.name) = lower(:aff)" if affiliation else ""))
    tagged = "FROM paper_affiliations pa JOIN affiliations af ON af.id = pa.affiliation_id "
    params = _params(jset, aff=affiliation, min=max(1, min_papers), limit=limit)
    if by in ("ai_score", "novelty"):
        if jset is None or jset.model is None:
            return []
        col = "ai" if by == "ai_score" else "nov"
        top = G.affiliation_scores(conn, jset.prompt_version_id, jset.model, by, min_papers, limit,
                                   affiliation) if agg else conn.execute(text(
            f"SELECT af.name, COUNT(*) AS n, AVG(j.ai_score) AS ai, AVG(j.novelty) AS nov {tagged}"
            "JOIN judgments j ON j.paper_id = pa.paper_id AND j.prompt_version_id = :pv "
            f"AND j.model = :m {where} GROUP BY af.id, af.name HAVING COUNT(*) >= :min "
            f"ORDER BY {col} DESC, n DESC, af.name LIMIT :limit"), params).all()
        return [AffiliationScoreRow(rank=i, affiliation=name, n_judged=n, ai_score=_r(ai),
                                    novelty=_r(nv)) for i, (name, n, ai, nv) in enumerate(top, start=1)]
    ranked: list[tuple[int | None, int, str, int]] = []  # (h-index, citations, name, papers)
    if agg:
        ranked = G.affiliation_stats(conn, min_papers, affiliation)
    per_aff: dict[str, list[int]] = defaultdict(list)
    for name, cites in [] if agg else conn.execute(text(
            f"SELECT af.name, lc.citations {tagged}"
            f"JOIN ({S.LATEST_PAPER_CITATIONS_SQL}) lc ON lc.paper_id = pa.paper_id {where}"),
            params):
        per_aff[name].append(cites)
    for name, cites in per_aff.items():
        if len(cites) >= max(1, min_papers):
            h, n = h_index_from(cites)
            ranked.append((h, sum(cites), name, n))
    ranked.sort(key=lambda r: (-((r[0] or 0) if by == "h_index" else r[1]), r[2]))
    return [AffiliationMetricRow(rank=i, affiliation=name, papers_with_citations=n, h_index=h,
                                 citations=c)
            for i, (h, c, name, n) in enumerate(ranked[:limit], start=1)]
