"""Named queries on judgments and the model calls behind them (``llm_calls``): what a run
would judge, the call cache, spend, and what eval runs, heads and tournaments read back and rewrite.
The Batch API's bookkeeping is in ``batches``.

Every function takes the caller's connection, so a read or write joins the caller's
transaction. Prompt versions are named by ``name`` and ``version`` (the version as
stored, a string) or by their id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Row

from . import sql

CHUNK = 500  # ids bound per statement when a list may be long


def unjudged_papers(
    conn: Connection,
    *,
    prompt_name: str,
    prompt_version: str,
    model: str,
    eval_suite: str | None,
    paper_ids: Sequence[int] | None,
) -> Sequence[Row]:
    """(title, abstract) of the papers without a judgment of this prompt version and model, in
    id order: the suite's papers (``eval_suite``) or every non-eval paper, only ``paper_ids``
    if given."""
    where = "p.eval_suite = :suite" if eval_suite else "p.is_eval = :false"
    statement = (
        "SELECT p.title, p.abstract FROM papers p WHERE "
        + where
        + " AND NOT EXISTS (SELECT 1 FROM judgments j JOIN prompt_versions pv "
        "ON pv.id = j.prompt_version_id WHERE j.paper_id = p.id AND pv.name = :name "
        "AND pv.version = :version AND j.model = :model)"
    )
    params: dict[str, Any] = {
        "suite": eval_suite,
        "false": False,
        "name": prompt_name,
        "version": prompt_version,
        "model": model,
    }
    lists = []
    if paper_ids is not None:
        statement += " AND p.id IN :ids"
        params["ids"] = [int(i) for i in paper_ids]
        lists.append("ids")
    return conn.execute(sql(statement + " ORDER BY p.id", *lists), params).all()


_CACHED_REPLY = text(
    "SELECT response_text FROM llm_calls WHERE request_hash = :h "
    "AND outcome IN ('ok', 'cached') ORDER BY id DESC LIMIT 1"
)


def cached_reply(conn: Connection, request_hash: str) -> str | None:
    """The last valid stored reply to the request with this hash, or None."""
    row = conn.execute(_CACHED_REPLY, {"h": request_hash}).first()
    return row[0] if row else None


# -- spend ---------------------------------------------------------------------------
_COST_SUMS = (
    "COUNT(*), "
    "SUM(CASE WHEN c.outcome <> 'cached' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN c.outcome = 'cached' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN c.attempt > 1 THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN c.reask > 0 AND c.attempt = 1 AND c.outcome <> 'cached' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN c.outcome IN ('http_error', 'timeout', 'connection') THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN c.outcome = 'invalid' THEN 1 ELSE 0 END), "
    "COALESCE(SUM(c.prompt_tokens), 0), COALESCE(SUM(c.completion_tokens), 0), "
    "COALESCE(SUM(c.cost_usd), 0)"
)


def _call_day(conn: Connection) -> str:
    if conn.dialect.name == "postgresql":
        return "to_char(c.created_at, 'YYYY-MM-DD')"
    return "substr(CAST(c.created_at AS TEXT), 1, 10)"


def call_costs(
    conn: Connection,
    by: Sequence[str],
    *,
    prompt_name: str | None = None,
    prompt_version: str | None = None,
    model: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Sequence[Row]:
    """Sums over ``llm_calls`` grouped and ordered by ``by`` (prompt, model, day, mode). Each
    row holds the group's keys (prompt: name and version; day: YYYY-MM-DD in UTC; mode: sync
    or batch), then calls, HTTP requests, cache hits, retries, re-asks, errors, invalid
    replies, prompt tokens, completion tokens and dollars. ``since`` and ``until`` are
    inclusive days (YYYY-MM-DD); a filter left None is not applied."""
    day = _call_day(conn)
    keys = {
        "prompt": ("pv.name", "pv.version"),
        "model": ("c.model",),
        "day": (day,),
        "mode": ("CASE WHEN c.batch_id IS NULL THEN 'sync' ELSE 'batch' END",),
    }
    cols = [expr for g in by for expr in keys[g]]
    where, params = [], {}
    if prompt_name is not None:
        where.append("pv.name = :pname")
        params["pname"] = prompt_name
    if prompt_version is not None:
        where.append("pv.version = :pversion")
        params["pversion"] = prompt_version
    if model is not None:
        where.append("c.model = :model")
        params["model"] = model
    if since is not None:
        where.append(f"{day} >= :since")
        params["since"] = since
    if until is not None:
        where.append(f"{day} <= :until")
        params["until"] = until
    statement = (
        f"SELECT {', '.join(cols + [_COST_SUMS])} FROM llm_calls c "
        "LEFT JOIN prompt_versions pv ON pv.id = c.prompt_version_id"
    )
    if where:
        statement += " WHERE " + " AND ".join(where)
    if cols:
        statement += f" GROUP BY {', '.join(cols)} ORDER BY {', '.join(cols)}"
    return conn.execute(text(statement), params).all()


# -- a suite's judgments, for eval runs ------------------------------------------------
def _suite_params(suite: str, prompt_name: str, prompt_version: str, model: str) -> dict[str, str]:
    return {"suite": suite, "name": prompt_name, "version": prompt_version, "model": model}


def suite_call_usage(conn: Connection, suite: str, prompt_name: str, prompt_version: str, model: str) -> Row:
    """(papers with a call, HTTP calls, failed calls, prompt tokens, completion tokens,
    dollars) of the stored calls of this prompt version and model on the suite's papers."""
    return conn.execute(
        text(
            "SELECT COUNT(DISTINCT c.paper_id), "
            "SUM(CASE WHEN c.outcome != 'cached' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN c.outcome NOT IN ('ok', 'cached') THEN 1 ELSE 0 END), "
            "SUM(c.prompt_tokens), SUM(c.completion_tokens), SUM(c.cost_usd) "
            "FROM llm_calls c JOIN prompt_versions pv ON pv.id = c.prompt_version_id "
            "JOIN papers p ON p.id = c.paper_id WHERE pv.name = :name AND pv.version = :version "
            "AND c.model = :model AND p.eval_suite = :suite"
        ),
        _suite_params(suite, prompt_name, prompt_version, model),
    ).one()


def suite_judgment_methods(
    conn: Connection, suite: str, prompt_name: str, prompt_version: str, model: str
) -> Sequence[Row]:
    """(method, one of its params_json, judgments) of the suite's judgments by this prompt
    version and model, the most used method first."""
    return conn.execute(
        text(
            "SELECT j.method, MAX(j.params_json), COUNT(*) FROM judgments j JOIN prompt_versions pv "
            "ON pv.id = j.prompt_version_id JOIN papers p ON p.id = j.paper_id "
            "WHERE pv.name = :name AND pv.version = :version AND j.model = :model "
            "AND p.eval_suite = :suite GROUP BY j.method ORDER BY COUNT(*) DESC"
        ),
        _suite_params(suite, prompt_name, prompt_version, model),
    ).all()


def suite_judgment_details(
    conn: Connection, suite: str, prompt_name: str, prompt_version: str, model: str
) -> Sequence[Row]:
    """(external id, details_json) of the suite's judgments by this prompt version and model
    that have details."""
    return conn.execute(
        text(
            "SELECT p.external_id, j.details_json FROM judgments j "
            "JOIN prompt_versions pv ON pv.id = j.prompt_version_id JOIN papers p ON p.id = j.paper_id "
            "WHERE pv.name = :name AND pv.version = :version AND j.model = :model "
            "AND p.eval_suite = :suite AND j.details_json IS NOT NULL"
        ),
        _suite_params(suite, prompt_name, prompt_version, model),
    ).all()


def suite_judgment_states(
    conn: Connection, suite: str, prompt_name: str, prompt_version: str, model: str
) -> Sequence[Row]:
    """(external id, AI score, novelty, task state, task error) of every paper of the suite,
    None where it has no judgment or no task of this prompt version and model."""
    return conn.execute(
        text(
            "SELECT p.external_id, j.ai_score, j.novelty, t.state, t.last_error FROM papers p "
            "LEFT JOIN prompt_versions pv ON pv.name = :name AND pv.version = :version "
            "LEFT JOIN judgments j ON j.paper_id = p.id AND j.prompt_version_id = pv.id AND j.model = :model "
            "LEFT JOIN tasks t ON t.paper_id = p.id AND t.prompt_version_id = pv.id AND t.model = :model "
            "WHERE p.eval_suite = :suite"
        ),
        _suite_params(suite, prompt_name, prompt_version, model),
    ).all()


def suite_judged_tasks(
    conn: Connection, suite: str, prompt_name: str, prompt_version: str, model: str
) -> Sequence[Row]:
    """(paper id, external id, title, abstract, task id) of the suite's papers judged by this
    prompt version and model, in paper id order."""
    return conn.execute(
        text(
            "SELECT p.id, p.external_id, p.title, p.abstract, t.id FROM papers p "
            "JOIN prompt_versions pv ON pv.name = :name AND pv.version = :version "
            "JOIN judgments j ON j.paper_id = p.id AND j.prompt_version_id = pv.id AND j.model = :model "
            "JOIN tasks t ON t.paper_id = p.id AND t.prompt_version_id = pv.id AND t.model = :model "
            "WHERE p.eval_suite = :suite ORDER BY p.id"
        ),
        _suite_params(suite, prompt_name, prompt_version, model),
    ).all()


# -- two prompt versions side by side ---------------------------------------------------
def models_judged_by_both(conn: Connection, pv_a: int, pv_b: int) -> Sequence[Row]:
    """(model, papers) of the models that judged papers under both prompt versions, the
    model with most such papers first."""
    return conn.execute(
        text(
            "SELECT ja.model, COUNT(*) FROM judgments ja JOIN judgments jb ON jb.paper_id = ja.paper_id "
            "AND jb.model = ja.model AND jb.prompt_version_id = :b WHERE ja.prompt_version_id = :a "
            "GROUP BY ja.model ORDER BY COUNT(*) DESC, ja.model"
        ),
        {"a": pv_a, "b": pv_b},
    ).all()


_SIDE = "{j}.ai_score, {j}.novelty, {j}.rationale, {j}.ai_score_spread, {j}.novelty_spread"


def paired_judgments(conn: Connection, pv_a: int, pv_b: int, model: str) -> Sequence[Row]:
    """(paper id, title, then AI score, novelty, rationale, AI score spread and novelty spread
    under A, then the same under B) of the papers ``model`` judged under both prompt
    versions, in paper id order."""
    return conn.execute(
        text(
            f"SELECT p.id, p.title, {_SIDE.format(j='ja')}, {_SIDE.format(j='jb')} "
            "FROM judgments ja JOIN judgments jb ON jb.paper_id = ja.paper_id "
            "AND jb.model = ja.model AND jb.prompt_version_id = :b "
            "JOIN papers p ON p.id = ja.paper_id "
            "WHERE ja.prompt_version_id = :a AND ja.model = :m ORDER BY p.id"
        ),
        {"a": pv_a, "b": pv_b, "m": model},
    ).all()


def judgment_count(conn: Connection, prompt_version_id: int, model: str) -> int:
    """How many judgments this prompt version and model have."""
    return conn.execute(
        text("SELECT COUNT(*) FROM judgments WHERE prompt_version_id = :pv AND model = :m"),
        {"pv": prompt_version_id, "m": model},
    ).scalar_one()


# -- what heads and tournaments read and rewrite -----------------------------------------
def judgment_features(conn: Connection, prompt_version_id: int, model: str, paper_ids: Sequence[int]) -> list[Row]:
    """(paper id, AI score, novelty, AI score spread, novelty spread, details_json) of the
    judgments of this prompt version and model on ``paper_ids``."""
    query = sql(
        "SELECT paper_id, ai_score, novelty, ai_score_spread, novelty_spread, "
        "details_json FROM judgments WHERE prompt_version_id = :pv AND model = :m "
        "AND paper_id IN :ids",
        "ids",
    )
    return _chunked(conn, query, {"pv": prompt_version_id, "m": model}, paper_ids)


def embedding_head_scores(conn: Connection, prompt_version_id: int, model: str, paper_ids: Sequence[int]) -> list[Row]:
    """(paper id, AI score, novelty) of the ``embedding-head`` judgments of this prompt
    version and model on ``paper_ids``."""
    query = sql(
        "SELECT paper_id, ai_score, novelty FROM judgments WHERE prompt_version_id = :pv "
        "AND model = :m AND method = 'embedding-head' AND paper_id IN :ids",
        "ids",
    )
    return _chunked(conn, query, {"pv": prompt_version_id, "m": model}, paper_ids)


def _chunked(conn: Connection, query: Any, params: dict[str, Any], ids: Sequence[int]) -> list[Row]:
    """``query``'s rows with ``:ids`` bound to ``ids``, CHUNK ids a statement."""
    rows: list[Row] = []
    for i in range(0, len(ids), CHUNK):
        rows += conn.execute(query, {**params, "ids": [int(p) for p in ids[i : i + CHUNK]]}).all()
    return rows


def answered_calls(conn: Connection, prompt_version_id: int, model: str) -> Sequence[Row]:
    """(paper id, request_json, response_text) of the calls of this prompt version and model
    that got a valid reply (sent or from the cache), in the order they were stored."""
    return conn.execute(
        text(
            "SELECT paper_id, request_json, response_text FROM llm_calls WHERE prompt_version_id = :pv "
            "AND model = :model AND outcome IN ('ok', 'cached') ORDER BY id"
        ),
        {"pv": prompt_version_id, "model": model},
    ).all()


def judgment_details(conn: Connection, prompt_version_id: int, model: str) -> Sequence[Row]:
    """(judgment id, paper id, details_json) of every judgment of this prompt version and model."""
    return conn.execute(
        text("SELECT id, paper_id, details_json FROM judgments WHERE prompt_version_id = :pv AND model = :model"),
        {"pv": prompt_version_id, "model": model},
    ).all()


def rewrite_judgment_scores(conn: Connection, updates: Sequence[dict[str, Any]]) -> None:
    """Set each judgment's scores, rationale and details: ``updates`` holds dicts with
    ``id``, ``ai_score``, ``novelty``, ``rationale`` and ``details`` (JSON)."""
    if updates:
        conn.execute(
            text(
                "UPDATE judgments SET ai_score = :ai_score, novelty = :novelty, "
                "rationale = :rationale, details_json = :details WHERE id = :id"
            ),
            list(updates),
        )


def judgments_with_titles(conn: Connection) -> Sequence[Row]:
    """(title, AI score, novelty, rationale, model) of every judgment, in paper id order."""
    return conn.execute(
        text(
            "SELECT p.title, j.ai_score, j.novelty, j.rationale, j.model FROM judgments j "
            "JOIN papers p ON p.id = j.paper_id ORDER BY p.id"
        )
    ).all()


def judgments_per_version_and_model(conn: Connection) -> list[Row[int, str, int]]:
    """(prompt version id, model, judgments) for every pair with judgments, by model."""
    return list(
        conn.execute(
            text(
                "SELECT prompt_version_id, model, COUNT(*) FROM judgments "
                "GROUP BY prompt_version_id, model ORDER BY model"
            )
        )
    )
