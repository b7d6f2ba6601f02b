"""annotator: LLM-assisted paper annotation and scoring.

The public Python API lives in ``annotator.api`` and is importable from here
(``from annotator import open_db, ingest, annotate, ...``). It is loaded on
first use, so importing one submodule does not import them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annotator.version import __version__

__all__ = ["__version__", "open_db", "ingest_files", "annotate", "judged_papers", "profile", "evaluate_suite"]

if TYPE_CHECKING:
    from annotator.api import annotate, evaluate_suite, ingest_files, judged_papers, open_db, profile


def __getattr__(name: str) -> Any:
    if name in __all__[1:]:
        from annotator import api

        return getattr(api, name)
    raise AttributeError(f"module 'annotator' has no attribute {name!r}")
