"""``evaluate``: predictions for a suite's papers in, an :class:`EvalResult` out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from .agreement import no_decision_note
from .agreement_figures import judge_agreement
from .baselines import TFIDF, constant_baseline, tfidf_baseline, tfidf_ridge_oof
from .calibration import calibrate_split
from .ceiling import human_ceiling
from .items import data_hash, ids_hash, load_items
from .labels import LabelSpec, label_specs_for_items, label_specs_for_suite
from .metrics import Binning, Counts, compute_metrics
from .results import EvalResult, GroupResult, LabelResult, PaperResult, Provenance, complete
from .suite_types import EvalItem, Suite
from .thresholds import check_thresholds


def _value(rec: Any, key: str) -> tuple[float | None, str | None]:
    raw = rec.get(key) if isinstance(rec, Mapping) else getattr(rec, key, None)
    if raw is None:
        return None, f"{key} missing"
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None, f"{key} {raw!r} is not a number"
    if not math.isfinite(raw) or not 0 <= raw <= 100:
        return None, f"{key} {raw!r} is outside 0-100"
    return float(raw), None


def normalise_prediction(rec: Any, required: Sequence[str]) -> tuple[dict, str, str | None]:
    """(values, status, reason) for one paper's prediction record (a dict or an object)."""
    if rec is None:
        return {k: None for k in required}, "missing", "no prediction"
    values, problems = {}, []
    for key in required:
        values[key], problem = _value(rec, key)
        if problem:
            problems.append(problem)
    given = rec.get("reason") or rec.get("error") if isinstance(rec, Mapping) else None
    reason = "; ".join(([str(given)] if given else []) + problems) or None
    n_ok = sum(v is not None for v in values.values())
    status = "scored" if n_ok == len(required) else ("partial" if n_ok else "invalid")
    return values, status, reason


def _pool_predictions(items, pool, suite, specs, seed, notes, settings) -> dict[str, dict]:
    if pool is None:
        pool = load_items(suite, sample=False) if suite is not None else items
    pool = list(pool)
    known = {it.id for it in pool}
    pool += [it for it in items if it.id not in known]
    targets = {s.name: [s.gold(it) for it in pool] for s in specs}
    try:
        oof = tfidf_ridge_oof([it.text for it in pool], targets, seed=seed)
    except ValueError as exc:
        notes.append(f"TF-IDF baseline not computed: {exc}")
        return {}
    settings["tfidf_pool_size"] = len(pool)
    notes.append(
        f"TF-IDF baseline: out-of-fold predictions from 5-fold CV over {len(pool)} "
        "papers, scored on the same papers as the model."
    )
    ids = [it.id for it in pool]
    return {name: dict(zip(ids, preds.tolist())) for name, preds in oof.items()}


def _label_arrays(spec: LabelSpec, items, values):
    gold = np.array([np.nan if (g := spec.gold(it)) is None else g for it in items], float)
    pred = np.array([np.nan if (v := values[it.id].get(spec.pred_key)) is None else v for it in items], float)
    scored = np.isfinite(gold) & np.isfinite(pred)
    return gold, pred, scored


def _accepted(spec: LabelSpec, items, mask):
    if "auroc" not in spec.kinds:
        return None
    return [it.accepted for it, m in zip(items, mask) if m]


def _samples(predictions: Mapping[str, Any], items, key: str, where: str = "samples") -> list[list[float]] | None:
    """Each paper's samples of ``key`` (``{"samples": {key: [...]}}`` in its prediction), if any;
    ``where="runs"``: its scores in repeated runs."""
    out = [
        list((rec.get(where) or {}).get(key) or ()) if isinstance(rec := predictions.get(it.id), Mapping) else []
        for it in items
    ]
    return out if any(len(s) > 1 for s in out) else None


def evaluate(
    items: Sequence[EvalItem],
    predictions: Mapping[str, Any],
    *,
    suite: Suite | None = None,
    provenance: Provenance | dict | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    pool: Sequence[EvalItem] | None = None,
    thresholds: Mapping[str, float] | None = None,
    bins: int = 5,
    binning: Binning = "quantile",
    baselines: bool = True,
    ceiling_draws: int = 10,
) -> EvalResult:
    """Score ``predictions`` ({id: {"ai_score": 0-100, "novelty": 0-100}}) against ``items``.

    Papers without a usable prediction count as missing (reported, never dropped
    silently). ``pool``: papers for the TF-IDF baseline's cross-validation (default: the
    suite's whole data file, else ``items``). ``thresholds``: overrides on top of the
    suite's ``[thresholds]``.
    """
    items = list(items)
    if not items:
        raise InputError("no papers to evaluate")
    if len({it.id for it in items}) != len(items):
        raise InputError("duplicate ids among the papers to evaluate")
    specs = label_specs_for_suite(suite) if suite is not None else label_specs_for_items(items)
    required = [k for k in ("ai_score", "novelty") if any(s.pred_key == k for s in specs)]
    norm = {it.id: normalise_prediction(predictions.get(it.id), required) for it in items}
    values = {i: v for i, (v, _, _) in norm.items()}
    notes: list[str] = []
    settings: dict[str, Any] = {
        "n_boot": n_boot,
        "seed": seed,
        "bins": bins,
        "binning": binning,
        "ceiling_draws": ceiling_draws,
        "thresholds": dict(suite.thresholds) if suite else {},
    }
    oof = _pool_predictions(items, pool, suite, specs, seed, notes, settings) if baselines else {}
    common: dict[str, Any] = dict(bins=bins, binning=binning, n_boot=n_boot, seed=seed)

    labels: dict[str, LabelResult] = {}
    for spec in specs:
        gold, pred, scored = _label_arrays(spec, items, values)
        sel = [it for it, m in zip(items, scored) if m]
        acc = _accepted(spec, items, scored)
        kw: dict[str, Any] = dict(common, kinds=spec.kinds, gold_scale=spec.scale)
        res = LabelResult(
            label=spec.name,
            pred_key=spec.pred_key,
            gold_field=spec.gold_field,
            scale=spec.scale,
            counts=Counts.of(int(np.isfinite(gold).sum()), int(scored.sum())),
            metrics=compute_metrics(pred[scored], gold[scored], accepted=acc, **kw),
        )
        if spec.reviewers_field:
            res.ceiling = human_ceiling(
                [spec.reviewers(it) for it in sel], n_draws=ceiling_draws, n_boot=n_boot, seed=seed
            )
        if baselines:
            res.baselines["constant_mean"] = constant_baseline(gold[scored], accepted=acc, **kw)
            if spec.name in oof:
                base = np.array([oof[spec.name][it.id] for it in sel], float)
                res.baselines[TFIDF] = tfidf_baseline(base, gold[scored], accepted=acc, **kw)
        res.agreement = judge_agreement(
            pred[scored],
            gold[scored],
            [spec.reviewers(it) for it in sel] if spec.reviewers_field else [],
            scale=spec.scale,
            samples=_samples(predictions, sel, spec.pred_key),
            runs=_samples(predictions, sel, spec.pred_key, "runs"),
            n_boot=n_boot,
            seed=seed,
            ceiling_draws=ceiling_draws,
        )
        if spec.name in ("ai", "novelty"):
            res.calibration = calibrate_split(pred[scored], gold[scored], scale=spec.scale, label=spec.name, seed=seed)
        labels[spec.name] = res

    notes += no_decision_note(items, specs)
    papers = [
        PaperResult(
            id=it.id,
            venue=it.venue,
            year=it.year,
            accepted=it.accepted,
            status=status,
            reason=reason,
            pred=vals,
            gold={s.name: s.gold(it) for s in specs},
            baseline={name: by_id.get(it.id) for name, by_id in oof.items()},
        )
        for it, (vals, status, reason) in ((it, norm[it.id]) for it in items)
    ]
    n_scored = sum(p.status == "scored" for p in papers)
    unknown = len(set(predictions) - set(values))
    if unknown:
        notes.append(f"{unknown} predictions for papers outside this evaluation were ignored.")

    prov_defaults: dict[str, Any] = {"n_boot": n_boot, "seed": seed, "sample_hash": ids_hash(values)}
    if suite is not None:
        path = suite.data_path
        prov_defaults.update(
            suite=suite.name,
            data_path=str(suite.data),
            sample_size=len(items),
            sample_seed=suite.seed,
            data_hash=data_hash(path) if path.is_file() else None,
        )
    result = EvalResult(
        suite=suite.name if suite else None,
        provenance=complete(provenance, **prov_defaults),
        counts=Counts.of(len(items), n_scored),
        n_unknown_predictions=unknown,
        labels=labels,
        breakdown=breakdown(items, values, specs, **common),
        papers=papers,
        settings=settings,
        notes=notes,
    )
    result.thresholds = check_thresholds(result, thresholds)
    return result


def breakdown(
    items: Sequence[EvalItem],
    values: Mapping[str, dict],
    specs: Sequence[LabelSpec],
    *,
    bins: int = 5,
    binning: Binning = "quantile",
    n_boot: int = 1000,
    seed: int = 0,
) -> list[GroupResult]:
    """Metrics per (venue, year) group of papers."""
    groups: dict[tuple, list[EvalItem]] = {}
    for it in items:
        groups.setdefault((it.venue, it.year), []).append(it)
    out = []
    for (venue, year), members in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or 0)):
        counts, metrics = {}, {}
        for spec in specs:
            gold, pred, scored = _label_arrays(spec, members, values)
            counts[spec.name] = Counts.of(int(np.isfinite(gold).sum()), int(scored.sum()))
            metrics[spec.name] = compute_metrics(
                pred[scored],
                gold[scored],
                accepted=_accepted(spec, members, scored),
                kinds=spec.kinds,
                bins=bins,
                binning=binning,
                gold_scale=spec.scale,
                n_boot=n_boot,
                seed=seed,
            )
        out.append(GroupResult(venue=venue, year=year, n=len(members), counts=counts, metrics=metrics))
    return out
