"""Where a result came from: model, prompt, data, code version and date."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict

from annotator.provenance import git_state



class Provenance(BaseModel):
    """Everything needed to say which run produced a report. All fields optional inputs."""

    model_config = ConfigDict(protected_namespaces=())

    model: Optional[str] = None
    model_params: dict[str, Any] = {}
    prompt_name: Optional[str] = None
    prompt_version: Optional[str] = None
    prompt_hash: Optional[str] = None
    suite: Optional[str] = None
    data_path: Optional[str] = None
    data_hash: Optional[str] = None  # sha256 of the data file
    sample_size: Optional[int] = None
    sample_seed: Optional[int] = None
    sample_hash: Optional[str] = None  # sha256 of the sorted ids evaluated
    code_commit: Optional[str] = None
    code_dirty: Optional[bool] = None
    date: Optional[str] = None  # ISO 8601, UTC
    n_boot: Optional[int] = None
    seed: Optional[int] = None
    extra: dict[str, Any] = {}


def code_version(repo: Path | str | None = None) -> dict[str, Any]:
    """``{"commit", "dirty"}`` of the checkout (see ``annotator.provenance.git_state``)."""
    return git_state(repo)


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


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
