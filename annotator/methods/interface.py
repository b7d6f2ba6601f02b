"""The contract between the runner and a judging method.

A method gets a ``MethodContext`` once per run (the model client, the prompt
version, its model parameters, the number of samples, the abstract budget and
the database engine), may ``prepare()`` itself once (load anchor papers, build
an index), and is then asked ``judge(paper)`` for each claimed task; ``finish()``
runs once the run's results are stored. It
returns a ``Verdict``: every HTTP attempt it made (all are stored and
counted, failed or not), and either the judgment columns to store or the
reason there are none. ``estimate(paper)`` gives calls and tokens per paper
for dry runs and the budget guard without calling anyone.

The runner adds what every judgment carries whatever its method: the method
name, injection flags, whether the abstract was cut, tokens and provenance.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy.engine import Engine

from annotator.judge.client import Attempt, ModelClient
from annotator.judge.messages import task_messages
from annotator.judge.prices import estimate_messages_tokens
from annotator.methods.related import RelatedIndex
from annotator.prompts.files import Prompt

# completion tokens of a typical reply, for estimates (a rationale is most of it)
TYPICAL_OUTPUT_TOKENS = 120


@dataclass(frozen=True)
class PaperInput:
    """The paper a method judges (a claimed task, or a row of a dry run)."""

    paper_id: int | None
    title: str
    abstract: str


@dataclass
class MethodContext:
    """What a method is given once per run."""

    client: ModelClient | None  # None for estimates (dry runs): no call is made
    prompt: Prompt
    params: dict[str, Any]  # the model parameters of the prompt version, None dropped
    samples: int = 1  # calls per judgment the sampling part asks for (front matter or --samples)
    aggregate: str = "mean"  # "median" when the samples came from the --samples option
    max_abstract_chars: int = 12_000
    engine: Engine | None = None  # the run's database ($related, anchors stored as papers)


@dataclass
class Verdict:
    """A method's answer for one paper."""

    attempts: list[Attempt]
    fields: dict[str, Any] | None  # judgment columns: ai_score, novelty, rationale, ...
    error: str | None = None
    abstract_cut: bool = False
    details: dict[str, Any] = field(default_factory=dict)  # stored as judgments.details_json

    def columns(self) -> dict[str, Any]:
        """``fields`` plus ``details_json`` (None when there are no details)."""
        assert self.fields is not None
        out = dict(self.fields)
        out["details_json"] = json.dumps(self.details, sort_keys=True) if self.details else None
        return out


@dataclass(frozen=True)
class CallEstimate:
    """Calls and tokens one paper costs with a method (before any call)."""

    calls: int
    prompt_tokens: int
    completion_tokens: int


class JudgingMethod(ABC):
    """One way of judging a paper. Subclasses set ``name`` and implement ``judge``."""

    name: ClassVar[str]

    def __init__(self, ctx: MethodContext):
        self.ctx = ctx
        spec = ctx.prompt.meta.related
        self.related = RelatedIndex(ctx.engine, spec.k, spec.excerpt_chars) if spec is not None else None

    async def prepare(self) -> None:
        """Once per run, before the first ``judge`` (load anchors, build an index).

        Subclasses that override it call ``await super().prepare()``.
        """
        if self.related is not None:
            await asyncio.to_thread(self.related.build)

    async def finish(self) -> None:
        """Once after a run that raised nothing, its judgments stored (a tournament re-fits)."""
        return None

    @abstractmethod
    async def judge(self, paper: PaperInput) -> Verdict:
        """Judge one paper; never raises for a model failure (that is a Verdict error)."""

    @property
    def client(self) -> ModelClient:
        if self.ctx.client is None:
            raise RuntimeError("this method was built for estimates only (no model client)")
        return self.ctx.client

    def calls_per_paper(self) -> int:
        return self.ctx.samples

    def estimate(self, paper: PaperInput) -> CallEstimate:
        """Calls and tokens for one paper; the default: ``calls_per_paper`` of the plain messages."""
        messages, _ = self.messages(paper)
        calls = self.calls_per_paper()
        out = min(TYPICAL_OUTPUT_TOKENS, int(self.ctx.params.get("max_tokens", 300)))
        return CallEstimate(calls, estimate_messages_tokens(messages) * calls, out * calls)

    # -- helpers for subclasses --------------------------------------------
    def template_values(self, paper: PaperInput) -> dict[str, str]:
        """Values of template variables other than title and abstract (``related``)."""
        if self.related is None:
            return {}
        return {"related": self.related.text_for(paper.paper_id, paper.title, paper.abstract)}

    def messages(self, paper: PaperInput) -> tuple[list[dict], bool]:
        """The chat messages for ``paper`` and whether its abstract was cut."""
        return task_messages(
            self.ctx.prompt, paper.title, paper.abstract, self.ctx.max_abstract_chars, **self.template_values(paper)
        )
