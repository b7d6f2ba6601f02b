"""Which prompt version judges: one rule, decided by one function, :func:`choose_prompt`.

The rule (every path that judges follows it: ``annotate``, ``worker``, ``annotate --batch``,
``eval run``, ``eval fit``, the injection suite, ``feed run``, the Python API):

- ``NAME@VERSION``: that version's file.
- ``NAME``: the active version of NAME (``annotator prompts activate``), else its latest file.
- nothing named, with a model endpoint configured (``OPENAI_BASE_URL`` or ``OPENAI_API_KEY``):
  as ``score``, so its active version, else its latest file.
- nothing named and no endpoint: the embedded default judge, ``embed@1`` (SmolLM2 embeddings
  and the shipped head) when the ``local`` extra is installed, else ``text-head@1`` (TF-IDF
  and the shipped text head), so a plain ``pip install`` judges at once. The chat path on the
  embedded model stays available by naming it (``--prompt score@1``).

:func:`resolve` is that choice with its stored row, registered on first use (with the
changed-content guard of :func:`~annotator.prompts.registry.register_prompt`).

Reading judgments back (profiles, leaderboards, the site: ``biblio.selection``) chooses
among the versions stored rather than the files, with the same rule for a name
(:func:`pick_version`): a version never used has nothing to read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from annotator.db.models import PromptVersion
from annotator.packaged import local_model_file
from annotator.prompts.files import Prompt, list_prompts, load_prompt, parse_ref
from annotator.prompts.registry import active_version, register_prompt, version_key
from annotator.settings import Settings, endpoint_configured

DEFAULT_NAME = "score"
"""The prompt that judges at a configured endpoint when none is named."""
EMBEDDED_REF = "embed@1"
"""The default without an endpoint: SmolLM2 embeddings and the shipped head (the ``local`` extra)."""
TEXT_REF = "text-head@1"
"""The default without an endpoint or the ``local`` extra: TF-IDF and the shipped text head."""


@dataclass(frozen=True)
class Resolved:
    """The prompt file that judges and its stored version row."""

    prompt: Prompt
    row: PromptVersion

    @property
    def ref(self) -> str:
        return self.prompt.ref

    @property
    def id(self) -> int:
        assert self.row.id is not None  # stored
        return self.row.id


def default_ref(settings: Settings, *, local: bool | None = None) -> str:
    """What judges when nothing is named: ``score`` at a configured endpoint; else the
    embedding judge when the ``local`` extra is installed (``local``: whether it is; None:
    look), else the text judge."""
    if endpoint_configured(settings):
        return DEFAULT_NAME
    installed = local_model_file() is not None if local is None else local
    return EMBEDDED_REF if installed else TEXT_REF


def pick_version(active: str | None, versions: Iterable[str]) -> str | None:
    """The version a bare NAME means: the active one, else the latest (by
    :func:`~annotator.prompts.registry.version_key`); None when there is none."""
    if active is not None:
        return active
    return max(versions, key=version_key, default=None)


def choose_prompt(engine: Engine | None, settings: Settings, ref: str | None = None) -> Prompt:
    """The prompt file that judges for ``ref`` (None: the default), by the rule above.
    Writes nothing; without an ``engine`` no version counts as active."""
    name, version = parse_ref(ref or default_ref(settings))
    if version is not None:
        return load_prompt(f"{name}@{version}")
    active = active_version(engine, name) if engine is not None else None
    chosen = pick_version(
        active.version if active else None, (str(p.version) for p in list_prompts() if p.name == name)
    )
    return load_prompt(name if chosen is None else f"{name}@{chosen}")  # None: "no prompt named"


def resolve(engine: Engine, settings: Settings, ref: str | None = None) -> Resolved:
    """:func:`choose_prompt`, and its stored version row (registered on first use)."""
    prompt = choose_prompt(engine, settings, ref)
    return Resolved(prompt, register_prompt(engine, prompt))
