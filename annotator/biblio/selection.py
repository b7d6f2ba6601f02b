"""Which judgments a profile, leaderboard or report averages.

One prompt version and one model, so a mean never mixes two prompts or two
models:

* prompt version: ``--prompt NAME@VERSION``; ``--prompt NAME`` is that name's
  active version, else its highest version (the rule of ``prompts.resolve``, applied to
  the versions stored: one never used has nothing to read); by default the same for
  ``score``, else any active version, else the version of the most recent judgment.
* model: ``--model``; by default the model of the most recent judgment under that
  prompt version.

Each paper has at most one judgment per (prompt version, model) -- a unique
constraint on ``judgments`` -- so "the author's papers' scores" is well defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Row

from annotator.db.queries import bibliometrics as B
from annotator.errors import PromptError
from annotator.prompts import registry
from annotator.prompts.resolve import DEFAULT_NAME, pick_version


@dataclass(frozen=True)
class JudgmentSet:
    prompt_version_id: int
    prompt: str  # "score@1"
    prompt_hash: str
    model: str | None  # None: nothing judged under this version yet
    chosen_by: str  # "--prompt", "active", "latest", "most recent judgment"
    method: str | None = None  # how the judgments were made (direct, expected, embedding-head...)

    def to_dict(self) -> dict:
        return {
            "prompt": self.prompt,
            "prompt_hash": self.prompt_hash,
            "model": self.model,
            "chosen_by": self.chosen_by,
            "method": self.method,
        }


def _pick(rows: list[Row[Any]], how: str) -> tuple[Row[Any], str]:
    active = next((r.version for r in rows if r.active), None)
    chosen = pick_version(active, (r.version for r in rows))
    row = next(r for r in rows if r.version == chosen)
    if how != "default":
        return row, how
    return row, "active" if active is not None else "latest"


def _by_id(conn: Connection, pv_id: int) -> Row[Any]:
    row = registry.row_by_id(conn, pv_id)
    assert row is not None  # referenced by a judgment or just found
    return row


def resolve(conn: Connection, prompt: str | None = None, model: str | None = None) -> JudgmentSet | None:
    """The judgment set to use; None when nothing has been judged at all."""
    row: Row[Any]
    how = "default"
    if prompt:
        name, _, version = prompt.partition("@")
        if version:
            pv_id = registry.version_id(conn, name, version.lstrip("v"))
            if pv_id is None:
                raise PromptError(
                    f"no judgments under {name}@{version.lstrip('v')}: it has never "
                    "been used (see annotator prompts list)"
                )
            row, how = _by_id(conn, pv_id), "--prompt"
        else:
            rows = registry.version_rows(conn, name)
            if not rows:
                raise PromptError(f"no prompt named {name!r} has been used yet")
            row, how = _pick(rows, "--prompt")
    else:
        rows = registry.version_rows(conn, DEFAULT_NAME)
        if rows:
            row, how = _pick(rows, "default")
        else:
            rows = registry.active_rows(conn)
            if rows:
                row, how = rows[0], "active"
            else:
                last = B.prompt_version_of_last_judgment(conn)
                if last is None:
                    return None
                row, how = _by_id(conn, last), "most recent judgment"
    if model is None:
        model = B.model_of_last_judgment(conn, row.id)
    method = B.method_of_last_judgment(conn, row.id, model) if model else None
    return JudgmentSet(row.id, f"{row.name}@{row.version}", row.content_hash, model, how, method)
