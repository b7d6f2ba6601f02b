"""Test helpers: a fake OpenAI-compatible server (``FakeServer``, ``FakeServerProcess``).

Imported lazily so that ``python -m annotator.testing.fakeserver`` runs cleanly.
"""

from __future__ import annotations

__all__ = ["FakeServer", "FakeServerProcess"]


def __getattr__(name: str):
    if name in __all__:
        from . import fakeserver

        return getattr(fakeserver, name)
    raise AttributeError(name)
