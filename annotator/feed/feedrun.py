"""``annotator feed run``: fetch -> judge -> refresh bibliometrics -> build the site, under a lock.

Each step is named and timed. The whole run holds the lease on the ``fetch_cursors``
row (``feed``, ``name``), so two runs never overlap (see ``lock``); each fetch also
holds its own query's lease. A fetch that fails after its retries is reported and
the run goes on with what was stored (its cursor keeps the place, so the next run
takes the query up there); so does a judge step that fails. The judge step is
``annotate`` (synchronous): every paper without a judgment for the prompt version
and model, so papers left by an interrupted run are judged too, and a new version
of a paper is judged only by prompt versions that have not judged it yet. For
large feeds ``annotate --batch`` and a later ``batch collect`` are the cheaper
alternative (run them instead of this step: ``--no-judge``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, date, datetime
from datetime import time as dtime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from annotator.errors import AnnotatorError, ConfigError, InputError
from annotator.feed.arxiv_api import fetch_arxiv
from annotator.feed.lock import Lease
from annotator.feed.openalex_api import fetch_openalex
from annotator.feed.pages import FetchSummary
from annotator.feed.refresh import RefreshSummary, refresh_authors
from annotator.jobs.annotate import AnnotateOptions, annotate
from annotator.jobspec import JobSpec
from annotator.judge.endpoint import Endpoint
from annotator.provenance import code_version
from annotator.settings import FeedSettings, Settings, feed_settings


@dataclass
class FeedOptions(JobSpec):
    """The judging job (prompt, model, concurrency, cost limit) and the feed's own options."""

    categories: list[str] = field(default_factory=list)  # arXiv, one query for all
    openalex_filters: list[str] = field(default_factory=list)  # one query each
    since: date | None = None  # first run (no cursor yet); later runs start at the cursor
    until: date | None = None  # default: now
    refetch: bool = False
    limit: int | None = None  # entries per query
    judge: bool = True
    biblio: bool = True
    max_authors: int = 100
    site_dir: Path | None = None
    name: str = "default"  # the lock's name: runs of one name never overlap
    wait_s: float = 0.0


@dataclass
class FeedSummary:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    judged: int = 0
    failed: int = 0  # judgments that failed
    cost_usd: float = 0.0
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step
    fetches: list[dict] = field(default_factory=list)
    biblio: dict | None = None
    site: dict | None = None
    errors: list[str] = field(default_factory=list)  # a step that failed, and why
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return asdict(self)


def start_of(day: date) -> datetime:
    return datetime.combine(day, dtime.min, tzinfo=UTC)


def end_of(day: date) -> datetime:
    return datetime.combine(day, dtime(23, 59), tzinfo=UTC)


def _plain(value: Any) -> dict:
    data = asdict(value) if is_dataclass(value) and not isinstance(value, type) else dict(vars(value))
    return {k: str(v) if isinstance(v, Path) else v for k, v in data.items()}


class _Steps:
    def __init__(self, summary: FeedSummary):
        self.summary = summary
        self.lease: Lease | None = None

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run a step, timing it; an expected failure is recorded and the run goes on.
        Once the run's lease is lost (another run took it over), no step starts."""
        if self.lease is not None and self.lease.lost.is_set():
            self.summary.errors.append(f"{name}: not started, the run lost its lease")
            return None
        started = time.monotonic()
        try:
            return fn()
        except AnnotatorError as exc:
            self.summary.errors.append(f"{name}: {exc}")
            return None
        finally:
            self.summary.steps[name] = round(self.summary.steps.get(name, 0.0) + time.monotonic() - started, 3)


def _fetch_all(
    engine: Engine,
    opts: FeedOptions,
    s: FeedSettings,
    steps: _Steps,
    summary: FeedSummary,
    transport: httpx.BaseTransport | None,
) -> list[int]:
    paper_ids: list[int] = []
    jobs: list[Callable[[], FetchSummary]] = []
    if opts.categories:
        jobs.append(
            lambda: fetch_arxiv(
                engine,
                opts.categories,
                since=start_of(opts.since) if opts.since else None,
                until=end_of(opts.until) if opts.until else None,
                limit=opts.limit,
                refetch=opts.refetch,
                settings=s,
                transport=transport,
            )
        )
    jobs += [
        partial(
            fetch_openalex,
            engine,
            f,
            since=opts.since,
            until=opts.until,
            limit=opts.limit,
            refetch=opts.refetch,
            settings=s,
            transport=transport,
        )
        for f in opts.openalex_filters
    ]
    for job in jobs:
        got: FetchSummary | None = steps.run("fetch", job)
        if got is None:
            continue
        summary.fetches.append(got.to_dict())
        for name in ("new", "updated", "unchanged", "rejected"):
            setattr(summary, name, getattr(summary, name) + getattr(got, name))
        paper_ids += got.paper_ids
    return paper_ids


def run_feed(
    engine: Engine,
    settings: Settings,
    opts: FeedOptions,
    *,
    feed: FeedSettings | None = None,
    transport: httpx.BaseTransport | None = None,
) -> FeedSummary:
    """One feed run; see the module docstring. Raises ``FeedLocked`` when another holds the lock."""
    if not opts.categories and not opts.openalex_filters:
        raise InputError("nothing to fetch: give --category and/or --openalex-filter", field="category")
    s = feed or feed_settings()
    started = time.monotonic()
    summary = FeedSummary(
        provenance={"code_version": code_version().model_dump(), "started_at": datetime.now(UTC).isoformat()}
    )
    steps = _Steps(summary)
    with Lease(engine, "feed", opts.name, lease_s=s.lease_s, wait_s=opts.wait_s) as steps.lease:
        paper_ids = _fetch_all(engine, opts, s, steps, summary, transport)
        if opts.judge:

            def judge() -> None:
                def seen(ep: Endpoint) -> None:
                    summary.provenance["model"] = ep.model

                run = annotate(
                    engine,
                    settings,
                    AnnotateOptions(
                        prompt=opts.prompt, model=opts.model, concurrency=opts.concurrency, max_cost=opts.max_cost
                    ),
                    on_endpoint=seen,
                )
                summary.judged, summary.failed, summary.cost_usd = run.done, run.failed, run.cost_usd
                if run.stopped:
                    summary.errors.append(f"judge: stopped early: {run.stopped}")

            steps.run("judge", judge)
        if opts.biblio:

            def biblio() -> RefreshSummary:
                return refresh_authors(engine, paper_ids, s, max_authors=opts.max_authors, transport=transport)

            refreshed: RefreshSummary | None = steps.run("biblio", biblio)
            summary.biblio = asdict(refreshed) if refreshed is not None else None
        if opts.site_dir is not None:
            site_dir = opts.site_dir
            summary.site = steps.run("site", lambda: _plain(build(engine, site_dir)))
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


def build(engine: Engine, out_dir: Path) -> Any:
    """The site step: ``annotator.site.build_site``, imported when the step runs."""
    try:
        from annotator.site import build_site
    except ImportError as exc:
        raise ConfigError(f"the site builder is not available here ({exc})") from None
    return build_site(engine, out_dir)
