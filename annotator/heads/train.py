"""``annotator eval fit``: fit a head for a prompt version and model on one or more suites.

- ``embedding-head`` versions: every paper of each suite's data file (``sample=True``:
  only the suite's sample) is embedded at the endpoint (cached by text hash) and the head
  maps embeddings to the labels.
- chat methods: the papers of each suite judged by this version and model (run
  ``annotator eval run`` first) give the features (scores, spreads, sub-scores,
  expected values) that the head combines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from annotator.db.queries import papers
from annotator.errors import InputError
from annotator.evaluation.items import data_hash, load_items
from annotator.evaluation.suite_types import EvalItem, Suite
from annotator.evaluation.suites import load_suite
from annotator.judge.embeddings import EmbeddingsClient
from annotator.judge.endpoint import default_model, endpoint
from annotator.prompts.files import Prompt
from annotator.prompts.resolve import resolve
from annotator.provenance import code_version
from annotator.settings import Settings

from .build import build_head
from .features import embed_items, feature_names, judgment_rows, matrix
from .head_store import StoredHead, save_head
from .vector_store import DbCache


@dataclass
class FitOptions:
    prompt: str
    model: str | None = None
    k: int = 5
    seed: int = 0
    sample: bool = False  # embedding heads: only each suite's sample
    n_boot: int = 1000


def suites_hash(suites: Sequence[Suite]) -> str:
    joined = "\n".join(f"{s.name}:{data_hash(s.data_path)}" for s in suites)
    return hashlib.sha256(joined.encode()).hexdigest()


def _suite_items(suites: Sequence[Suite], sample: bool) -> tuple[list[EvalItem], dict[str, str]]:
    items: list[EvalItem] = []
    suite_of: dict[str, str] = {}
    for s in suites:
        for it in load_items(s, sample=sample):
            if it.id in suite_of:
                raise InputError(
                    f"paper id {it.id!r} is in suites {suite_of[it.id]} and {s.name}", path=str(s.path), field="id"
                )
            suite_of[it.id] = s.name
            items.append(it)
    return items, suite_of


def _judged(
    engine: Engine, suites: Sequence[Suite], pv: int, model: str, items: list[EvalItem], suite_of: dict[str, str]
):
    with engine.connect() as conn:
        ids = papers.suite_paper_ids(conn)
    paper_of = {it.id: ids[(suite_of[it.id], it.id)] for it in items if (suite_of[it.id], it.id) in ids}
    rows = judgment_rows(engine, pv, model, list(paper_of.values()))
    kept = [it for it in items if paper_of.get(it.id) in rows]
    if len(kept) < 10:
        names = " ".join(str(s.path) for s in suites)
        raise InputError(
            f"{len(kept)} papers of these suites have judgments by this prompt version and "
            f"model; run 'annotator eval run {names}' with them first"
        )
    feats = [rows[paper_of[it.id]] for it in kept]
    cols = feature_names(dict(enumerate(feats)))
    return kept, matrix(feats, cols), cols


def fit_suites(engine: Engine, settings: Settings, suite_paths: Sequence[str], opts: FitOptions) -> StoredHead:
    suites = [load_suite(p) for p in suite_paths]
    resolved = resolve(engine, settings, opts.prompt)
    prompt: Prompt = resolved.prompt
    pv = resolved.id
    embedding = prompt.meta.method == "embedding-head"
    items, suite_of = _suite_items(suites, opts.sample or not embedding)
    provenance: dict[str, Any] = {
        "prompt": prompt.ref,
        "prompt_hash": prompt.content_hash,
        "method": prompt.meta.method,
        "data_hash": suites_hash(suites),
        "code_version": code_version().label,
        "data": {s.name: s.data for s in suites},
    }
    if embedding:
        with endpoint(settings, opts.model) as ep:
            client = EmbeddingsClient(
                ep.model,
                base_url=ep.base_url,
                api_key=ep.api_key,
                cache=DbCache(engine, base_url=ep.base_url, api_key=ep.api_key),
            )
            try:
                x, hashes = embed_items(client, prompt, items, settings.max_abstract_chars)
            finally:
                client.close()
        model = ep.model
        provenance.update(model=model, embeddings_model=model, dim=int(x.shape[1]))
        head = build_head(
            "embedding",
            items,
            suite_of,
            x,
            suites,
            provenance,
            k=opts.k,
            seed=opts.seed,
            text_hashes=hashes,
            n_boot=opts.n_boot,
        )
    else:
        model = default_model(settings, opts.model)
        items, x, names = _judged(engine, suites, pv, model, items, suite_of)
        provenance.update(model=model)
        head = build_head(
            "judgment",
            items,
            suite_of,
            x,
            suites,
            provenance,
            k=opts.k,
            seed=opts.seed,
            feature_names=names,
            n_boot=opts.n_boot,
        )
    return save_head(engine, head, pv, model)
