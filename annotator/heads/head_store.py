"""Heads in the ``fitted_heads`` table, and the heads shipped with the package.

A prompt version and model find their head here: the newest one fitted into the
database, else a shipped head made for the same prompt text (content hash) and model.

Writers: ``save_head`` is one INSERT in its own transaction. Killed halfway, no row
(never part of a head). Two fits at once store two rows, each a whole head with its own
split and figures; the newest (highest id) is the one used, and both stay as history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import Engine

from annotator.db.engine import writer
from annotator.db.queries import derived
from annotator.errors import ConfigError
from annotator.prompts.files import Prompt
from annotator.prompts.registry import version_id

from .model import Head
from .vector_store import SHIPPED_DIR


@dataclass(frozen=True)
class StoredHead:
    head: Head
    head_id: int | None  # None: shipped with the package
    head_hash: str
    source: str  # "database" or the shipped file's path inside the package


def save_head(engine: Engine, head: Head, prompt_version_id: int, model: str) -> StoredHead:
    body = head.dumps()
    digest = head.hash
    with writer(engine).begin() as conn:
        head_id = derived.insert_head(
            conn,
            prompt_version_id=prompt_version_id,
            model=model,
            kind=head.kind,
            suites=",".join(head.suites),
            data_hash=head.provenance.get("data_hash", ""),
            head_hash=digest,
            code_version=head.provenance.get("code_version", ""),
            split_json=json.dumps(head.split.to_json(), sort_keys=True),
            metrics_json=json.dumps(head.metrics, sort_keys=True),
            head_json=body,
            created_at=datetime.now(UTC),
        )
    return StoredHead(head, head_id, digest, "database")


def latest_head(engine: Engine, prompt_version_id: int, model: str) -> StoredHead | None:
    with engine.connect() as conn:
        row = derived.latest_head_row(conn, prompt_version_id, model)
    if row is None:
        return None
    return StoredHead(_loads(row[2], f"fitted_heads id {row[0]}"), int(row[0]), row[1], "database")


def _loads(body: str, where: str) -> Head:
    try:
        return Head.loads(body)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{where}: not a readable head: {exc}") from None


@lru_cache(maxsize=8)
def shipped_head(path: Path) -> StoredHead:
    """A shipped head; one that stacks on the text head (``text_ref``) gets its text model
    from the shipped head of that hash."""
    body = path.read_text(encoding="utf-8")
    head = _loads(body, str(path))
    digest = head.hash
    if head.text_ref is not None and head.text is None:
        found = [shipped_head(p).head for p in shipped_heads() if p != path]
        text_head = next((h for h in found if h.hash == head.text_ref), None)
        if text_head is None or text_head.text is None:
            raise ConfigError(
                f"{path}: the text head it stacks on ({head.text_ref[:12]}) is "
                "not shipped beside it; rebuild both with: make head"
            )
        head.text = text_head.text
    return StoredHead(head, None, digest, f"annotator/data/heads/{path.parent.name}/{path.name}")


def shipped_heads() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*/head.json"))


def prompt_version_id(engine: Engine, prompt: Prompt) -> int | None:
    with engine.connect() as conn:
        return version_id(conn, prompt.name, prompt.version)


def find_head(engine: Engine | None, prompt: Prompt, model: str) -> StoredHead:
    """The head that scores ``prompt`` on ``model``: fitted in the database, else shipped."""
    if engine is not None:
        pv = prompt_version_id(engine, prompt)
        if pv is not None:
            found = latest_head(engine, pv, model)
            if found is not None:
                return found
    for path in shipped_heads():
        stored = shipped_head(path)
        prov = stored.head.provenance
        if prov.get("prompt_hash") == prompt.content_hash and prov.get("model") == model:
            return stored
    suites = "evals/iclr2022.toml evals/neurips2023.toml"
    raise ConfigError(
        f"no fitted head for prompt {prompt.ref} and model '{model}'; fit one with: "
        f"annotator eval fit {suites} --prompt {prompt.ref} --model {model}"
    )
