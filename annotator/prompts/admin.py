"""Listing prompt versions and making new ones."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from annotator.errors import PromptError
from annotator.prompts.files import list_prompts, load_prompt, prompts_dir
from annotator.prompts.registry import version_key, with_counts


@dataclass(frozen=True)
class PromptRow:
    """One prompt version, as ``annotator prompts list`` shows it."""

    ref: str  # NAME@VERSION
    hash: str  # sha256 of the file (or of the stored text when the file is gone)
    judged: int  # judgments stored under this version
    active: bool
    created: str | None  # when first used, None if never
    description: str
    changed: bool  # the file differs from the text stored when it was first used

    @property
    def sort_key(self) -> tuple[str, tuple[int, int, str]]:
        name, _, version = self.ref.partition("@")
        return name, version_key(version)


def prompt_rows(engine: Engine) -> list[PromptRow]:
    """Every version on disk or in the database, with how many papers it judged."""
    with engine.connect() as conn:
        stored = {(r[0], r[1]): r for r in with_counts(conn)}
    rows = []
    for p in list_prompts():
        db = stored.pop((p.name, str(p.version)), None)
        rows.append(
            PromptRow(
                ref=p.ref,
                hash=p.content_hash,
                judged=db[5] if db else 0,
                active=bool(db[3]) if db else False,
                created=str(db[4])[:19] if db else None,
                description=p.meta.description,
                changed=bool(db and db[2] != p.content_hash),
            )
        )
    for (name, version), db in stored.items():  # stored but the file is gone
        rows.append(
            PromptRow(
                ref=f"{name}@{version}",
                hash=db[2],
                judged=db[5],
                active=bool(db[3]),
                created=str(db[4])[:19],
                description="(file missing)",
                changed=False,
            )
        )
    return sorted(rows, key=lambda r: r.sort_key)


def new_version(name: str, directory: Path | None = None) -> Path:
    latest = load_prompt(name, directory)
    version = latest.version + 1
    path = prompts_dir(directory) / name / f"v{version}.md"
    if path.exists():
        raise PromptError(f"{path} already exists")
    text_ = re.sub(r"(?m)^version:\s*\d+\s*$", f"version: {version}", latest.text, count=1)
    path.parent.mkdir(parents=True, exist_ok=True)  # ./prompts/NAME when the latest is packaged
    path.write_text(text_, encoding="utf-8")
    return path
