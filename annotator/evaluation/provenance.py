"""Where a result came from: model, prompt, data, code version and date."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from annotator.provenance import git_state


class Provenance(BaseModel):
    """Everything needed to say which run produced a report. All fields optional inputs."""

    model_config = ConfigDict(protected_namespaces=())

    model: str | None = None
    model_params: dict[str, Any] = {}
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_hash: str | None = None
    suite: str | None = None
    data_path: str | None = None
    data_hash: str | None = None  # sha256 of the data file
    sample_size: int | None = None
    sample_seed: int | None = None
    sample_hash: str | None = None  # sha256 of the sorted ids evaluated
    code_commit: str | None = None
    code_dirty: bool | None = None
    date: str | None = None  # ISO 8601, UTC
    n_boot: int | None = None
    seed: int | None = None
    extra: dict[str, Any] = {}


def code_version(repo: Path | str | None = None) -> dict[str, Any]:
    """``{"commit", "dirty"}`` of the checkout (see ``annotator.provenance.git_state``)."""
    return git_state(repo)


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def complete(prov: Provenance | dict | None, **defaults: Any) -> Provenance:
    """Fill the fields left empty: ``defaults`` first, then date and code version."""
    prov = Provenance.model_validate(prov or {})
    updates = {k: v for k, v in defaults.items()
               if v is not None and getattr(prov, k, None) in (None, {}, "")}
    if prov.date is None:
        updates["date"] = utc_now()
    if prov.code_commit is None and prov.code_dirty is None:
        cv = code_version()
        updates["code_commit"], updates["code_dirty"] = cv["commit"], cv["dirty"]
    return prov.model_copy(update=updates)
