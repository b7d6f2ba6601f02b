"""The options of the job every judging command shares, declared once.

``annotate``, ``worker``, ``batch submit``, ``eval run`` and ``feed run`` take these
(``eval fit`` takes ``--model``), so their names, help, defaults and ranges are the
same everywhere; the values make an ``annotator.jobspec.JobSpec``, which checks them
again for the Python API. Typer takes a parameter's default from the signature, so each
command writes ``= None`` or the ``DEFAULT_*`` below (tests/test_job_options.py
compares them across commands).
"""

from __future__ import annotations

from typing import Annotated

import typer

from annotator.jobspec import CONCURRENCY, DEFAULT_CONCURRENCY, DEFAULT_SAMPLES, SAMPLES

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_SAMPLES",
    "ConcurrencyOption",
    "MaxCostOption",
    "ModelOption",
    "PromptOption",
    "RpmOption",
    "SamplesOption",
    "TpmOption",
]

PromptOption = Annotated[
    str | None,
    typer.Option(
        "--prompt",
        help="NAME@VERSION or NAME (a name: its active, else latest, version). Default: 'score' "
        "with an endpoint, the embedded judge without one (docs/prompts.md).",
    ),
]
ModelOption = Annotated[
    str | None, typer.Option("--model", envvar="ANNOTATOR_MODEL", help="Model name at the endpoint.")
]
ConcurrencyOption = Annotated[
    int, typer.Option("--concurrency", min=CONCURRENCY[0], max=CONCURRENCY[1], help="Model calls in flight at once.")
]
SamplesOption = Annotated[
    int, typer.Option("--samples", min=SAMPLES[0], max=SAMPLES[1], help="Ask K times per paper; store the median.")
]
MaxCostOption = Annotated[
    float | None,
    typer.Option(
        "--max-cost", min=0.0, help="Stop before spending more than this (USD; a batch: its estimate at batch prices)."
    ),
]
RpmOption = Annotated[float | None, typer.Option("--rpm", min=0.0, help="Request limit per minute.")]
TpmOption = Annotated[float | None, typer.Option("--tpm", min=0.0, help="Token limit per minute.")]
