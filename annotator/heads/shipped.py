"""The heads shipped with the package, and how ``make head`` rebuilds them byte for byte.

Two heads, both fitted on the labelled papers of ``heads.labelled`` with targets as
percentiles within each venue-year:

- ``text/head.json`` (prompt ``text-head@1``): TF-IDF of title and abstract
  (``heads.text_shipped``), every labelled paper. The judge without the ``local`` extra.
- ``smollm2/head.json`` (prompt ``embed@1``): SmolLM2-135M embeddings of title and
  abstract plus the text head's two predictions as features (stacking), fitted on the
  papers with vectors. A paper's text features are its out-of-fold text predictions, so
  the ridge learns how far to trust the text head on papers it did not see. The head
  names the text head by hash (``text_ref``) instead of carrying its weights.

Stacking and concatenation (one ridge over the TF-IDF columns beside the vectors) are level
out of fold (``python evals/head_figures.py --select``, ``docs/heads.md``): stacking is ahead
on ICLR 2026 and on novelty and reuses the text head's weights, so it ships. The vectors'
ridge sees the papers it was fitted on in-sample; their text features are out of fold.
The training vectors are repository-only (``evals/data/embeddings/smollm2/``, written by
``evals/embed_labelled.py``); the wheel carries the fitted heads and, for rationales, the
unit vectors of at most ``N_NEIGHBOURS`` labelled papers. Provenance names the package version and the sha256
of the fitting code (its syntax tree, so reformatting leaves it alone) and of the inputs
rather than a git commit, so the same inputs give the same bytes.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import numpy as np

from annotator.judge.local_model import MODEL_NAME
from annotator.prompts.files import load_prompt
from annotator.version import __version__

from .fit import LinearMap, Split, TargetFit, fit_linear, fit_targets, make_split
from .labelled import Labelled, load_labelled
from .model import Head, Neighbours
from .text import prompt_text
from .text_model import key
from .text_shipped import MODEL as TEXT_MODEL
from .text_shipped import PROMPT as TEXT_PROMPT
from .text_shipped import TARGETS, TEXT_DIR, build_text_head, suite_metrics
from .text_words import WHAT
from .vector_store import SHIPPED_DIR, VECTORS_DIR

SHIPPED = SHIPPED_DIR / "smollm2"
VECTORS = VECTORS_DIR / "smollm2"
PROMPT = "embed@1"
N_NEIGHBOURS = 1000
# the code each head's bytes depend on (its sha256 is in the head's provenance)
TEXT_CODE = ("fit.py", "model.py", "labelled.py", "text_fit.py", "text_shipped.py", "text_model.py")
FIT_CODE = TEXT_CODE + ("shipped.py",)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def normalised_code(source: str) -> str:
    """What a module does, not how it is laid out: its syntax tree without positions,
    comments or docstrings, so reformatting (``ruff format``) leaves it unchanged."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


def fit_code_hash(names: tuple[str, ...] = FIT_CODE, folder: Path | None = None) -> str:
    """The sha256 of the fitting code (the modules ``names`` in ``folder``, by default this
    package), normalised by :func:`normalised_code`."""
    here = folder or Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in names:
        code = normalised_code((here / name).read_text(encoding="utf-8"))
        digest.update(name.encode() + b"\0" + code.encode("utf-8") + b"\0")
    return digest.hexdigest()


def _provenance(prompt_ref: str, model: str, lab: Labelled, code: tuple[str, ...]) -> dict:
    prompt = load_prompt(prompt_ref)
    texts = hashlib.sha256(
        "\n".join(f"{it.id}\t{it.gold_ai}\t{it.gold_novelty}\t{it.title}\t{it.abstract}" for it in lab.items).encode()
    ).hexdigest()
    return {
        "prompt": prompt.ref,
        "prompt_hash": prompt.content_hash,
        "method": prompt.meta.method,
        "model": model,
        "data_hash": texts,
        "code_version": __version__,
        "fit_code_sha256": fit_code_hash(code),
        "targets": "percentile within venue-year",
    }


def text_inputs(lab: Labelled) -> list[str]:
    prompt = load_prompt(TEXT_PROMPT)
    return [prompt_text(prompt, it.title, it.abstract) for it in lab.items]


def build_text(lab: Labelled | None = None, n_boot: int = 1000) -> Head:
    from .text_fit import counts

    lab = lab or load_labelled()
    texts = text_inputs(lab)
    x, vocab = counts(texts)
    head, _ = build_text_head(lab, texts, x, vocab, _provenance(TEXT_PROMPT, TEXT_MODEL, lab, TEXT_CODE), n_boot=n_boot)
    return head


def training_vectors(folder: Path = VECTORS) -> tuple[list[tuple[str, str]], np.ndarray]:
    meta = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
    return [tuple(p) for p in meta["papers"]], np.load(folder / "embeddings.npy", allow_pickle=False).astype(np.float64)


def training_weights(folder: Path = VECTORS) -> str:
    """The weights of the embedded model (``judge.local_weights.WEIGHTS``) that made the
    training vectors: the packaged Q4_1 file unless ``ids.json`` names another."""
    meta = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
    return str(meta.get("weights", "packaged"))


def stacked_fits(
    ids: list[str], v: np.ndarray, text: np.ndarray, targets: dict[str, np.ndarray]
) -> tuple[Split, dict[str, TargetFit]]:
    """Two levels, folded into one linear map per target over [vector, text predictions]:
    a ridge per target on the vectors (its out-of-fold predictions on the recorded split),
    then a ridge on those and the text head's out-of-fold predictions. The second level has
    four inputs, so the text features are not shrunk among 576 vector columns."""
    split = make_split(ids, 5, 0)
    folds = np.array([split.folds[i] for i in ids])
    names = sorted(targets)
    level1, oof1 = {}, np.full((len(ids), len(names)), np.nan)
    for j, name in enumerate(names):
        y = targets[name]
        ok = np.isfinite(y)
        for f in range(split.k):
            test = folds == f
            oof1[test, j] = fit_linear(v[~test & ok], y[~test & ok]).predict(v[test])
        level1[name] = fit_linear(v[ok], y[ok])
    _, fits = fit_targets(ids, np.hstack([oof1, text]), targets, k=5, seed=0)
    for fit in fits.values():
        a = fit.model.weights
        w_v = sum(a[j] * level1[n].weights for j, n in enumerate(names))
        b = fit.model.intercept + sum(a[j] * level1[n].intercept for j, n in enumerate(names))
        folded = LinearMap(np.concatenate([w_v, a[len(names) :]]), float(b), fit.model.alpha)
        fit.model = LinearMap.from_json(folded.to_json())
    return split, fits


def build_shipped(
    text_head: Head | None = None, folder: Path = VECTORS, n_boot: int = 1000, lab: Labelled | None = None
) -> Head:
    """The stacked embedding head, from the training vectors and the shipped text head."""
    text_head = text_head or load_text()
    assert text_head is not None and text_head.text is not None, "no text head"
    text_head = Head.loads(text_head.dumps())  # as stored: rounded, so a rebuild matches
    lab = lab or load_labelled()
    papers, vectors = training_vectors(folder)
    row = {it.id: i for i, it in enumerate(lab.items)}
    texts = text_inputs(lab)
    keep = [k for k, (pid, _) in enumerate(papers) if pid in row]
    rows = [row[papers[k][0]] for k in keep]
    assert text_head.text is not None
    held = text_head.text.held
    stack = np.array([held[key(texts[r])] for r in rows], np.float64)
    ids = [lab.items[r].id for r in rows]
    targets = {n: t[rows] for n, t in lab.targets().items()}
    split, fits = stacked_fits(ids, vectors[keep], stack, targets)
    sub = Labelled([lab.items[r] for r in rows], lab.suite[rows], lab.group[rows])
    preds = {n: {"out_of_fold": np.array([fits[n].oof.get(i, np.nan) for i in ids])} for n in fits}
    pick = np.sort(np.random.default_rng(0).permutation(len(rows))[:N_NEIGHBOURS])
    neighbours = Neighbours.build(
        vectors[keep][pick],
        [
            {
                "id": lab.items[rows[j]].id,
                "title": lab.items[rows[j]].title,
                "venue": lab.items[rows[j]].venue,
                "year": lab.items[rows[j]].year,
                "accepted": lab.items[rows[j]].accepted,
                "ai": lab.items[rows[j]].gold_ai,
                "novelty": lab.items[rows[j]].gold_novelty,
                "suite": str(lab.suite[rows[j]]),
                "text_hash": papers[keep[j]][1],
            }
            for j in pick
        ],
    )
    suites = sorted(set(sub.suite.tolist()))
    provenance = _provenance(PROMPT, MODEL_NAME, lab, FIT_CODE)
    provenance.update(
        embeddings_model=MODEL_NAME,
        embedding_weights=training_weights(folder),
        dim=int(vectors.shape[1]),
        vectors_sha256=_sha256(folder / "embeddings.npy"),
        stacked_text_head=text_head.hash,
        papers_embedded={s: int((sub.suite == s).sum()) for s in suites},
    )
    labels = {name: {"scale": "percentile within venue-year", "fields": {}} for name in TARGETS}
    head = Head(
        kind="embedding",
        targets=fits,
        split=split,
        suites=suites,
        labels=labels,
        provenance=provenance,
        metrics=suite_metrics(sub, preds, n_boot=n_boot),
        neighbours=neighbours,
        suite_of={i: str(s) for i, s in zip(ids, sub.suite)},
        text=text_head.text,
        text_ref=text_head.hash,
    )
    return head


def shipped_path() -> Path:
    return SHIPPED / "head.json"


def text_path() -> Path:
    return TEXT_DIR / "head.json"


def is_embedded_default(model: str) -> bool:
    return model == MODEL_NAME


def _figure(metrics: dict, suite: str, target: str, how: str, kind: str) -> str | None:
    m = metrics.get(suite, {}).get(target, {}).get(how, {}).get(kind) or {}
    if m.get("value") is None:
        return None
    return f"{m['value']:.2f} [{m['ci_low']:.2f}, {m['ci_high']:.2f}]"


def about_lines(head: Head) -> list[str]:
    """What the embedded default judge's scores are, and how good, in plain words."""
    n = len(head.split.folds)
    lines = [
        "What these scores are: SmolLM2-135M embeddings of title and abstract together with the "
        f"text head's word features, scored by a ridge head fitted on the public reviews of {n:,} "
        "ICLR and NeurIPS papers. The AI score is where the paper's mean reviewer rating is "
        "predicted to rank among its venue's submissions, the novelty the same for the novelty "
        f"or contribution score, each as a percentile. It is {WHAT.replace('from the words', 'from the text')}: "
        "the closest labelled papers in the rationale show what it is comparing with.",
    ]
    held = []
    for suite, target, words in (
        ("iclr2026", "ai", "ICLR 2026 rating out-of-fold"),
        ("iclr2022", "ai", "ICLR 2022 rating out-of-fold"),
        ("iclr2017_2018", "ai", "ICLR 2017/18 rating out-of-fold"),
        ("iclr2022", "novelty", "ICLR 2022 novelty out-of-fold"),
    ):
        rho = _figure(head.metrics, suite, target, "out_of_fold", "spearman")
        if rho:
            held.append(f"{words}: Spearman {rho}")
    if held:
        lines.append(
            "How good, on papers it was not fitted on (95 % intervals): "
            + "; ".join(held)
            + ". One human reviewer against the others: about 0.27 on ICLR 2026 first "
            "reviews, 0.49 on ICLR 2022; more figures in docs/heads.md."
        )
    lines.append(
        "For real judgments set OPENAI_BASE_URL (see the README); the chat path on the "
        "embedded model stays available with --prompt score@1."
    )
    return lines


def load_shipped() -> Head | None:
    from .head_store import shipped_head

    path = shipped_path()
    return shipped_head(path).head if path.is_file() else None


def load_text() -> Head | None:
    from .head_store import shipped_head

    path = text_path()
    return shipped_head(path).head if path.is_file() else None
