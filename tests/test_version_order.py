"""Every list of prompt versions is in one order: ``prompts.registry.version_key``.

Versions are numbers as text, sometimes written with a leading "v"; text sorts after
numbers. The prompt pages and the choice of the latest version must agree on it.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session

from annotator.biblio.selection import resolve
from annotator.db.models import PromptVersion
from annotator.prompts.registry import version_key
from annotator.site.pages_prompts import load_versions

TRICKY = ["10", "9", "v2", "1", "draft"]


def test_version_key_orders_numbers_as_numbers():
    assert sorted(TRICKY, key=version_key) == ["1", "v2", "9", "10", "draft"]
    assert version_key("v2") == version_key("2")
    assert version_key("v2") < version_key("10")


def _store(engine, versions: list[str]) -> None:
    with Session(engine) as session:
        for v in versions:
            session.add(PromptVersion(name="score", version=v, content_hash=f"h{v}", text=v))
            session.add(PromptVersion(name="other", version=v, content_hash=f"o{v}", text=v))
        session.commit()


@pytest.mark.parametrize(
    "versions, latest",
    [
        (["10", "9", "v2"], "10"),
        (["v2", "9"], "9"),
        (TRICKY, "draft"),
    ],
)
def test_site_and_selection_agree(engine, versions, latest):
    _store(engine, versions)
    listed = [(v.name, v.version) for v in load_versions(engine)]
    ordered = sorted(versions, key=version_key)
    assert listed == [("other", v) for v in ordered] + [("score", v) for v in ordered]
    with engine.connect() as conn:
        chosen = resolve(conn, prompt="score")
    assert chosen is not None
    assert chosen.prompt == f"score@{latest}" == f"score@{ordered[-1]}"
    assert chosen.chosen_by == "--prompt"
