"""One base exception; the CLI turns it into a one-line message and an exit code."""

from __future__ import annotations


class AnnotatorError(Exception):
    """Base class for every expected failure. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class ConfigError(AnnotatorError):
    exit_code = 2


class InputError(AnnotatorError):
    """Bad input. Names the file, line and field so the user can fix it."""

    exit_code = 3

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None, field: str | None = None):
        self.path, self.line, self.field = path, line, field
        where = ":".join(str(p) for p in (path, line) if p is not None)
        parts = [where] if where else []
        if field:
            parts.append(f"field '{field}'")
        prefix = ", ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.reason = message


class PromptError(AnnotatorError):
    exit_code = 4


class ModelError(AnnotatorError):
    """The model endpoint failed in a way retries could not fix."""

    exit_code = 5


class FetchError(AnnotatorError):
    """An HTTP API (OpenAlex, arXiv) failed in a way retries could not fix."""

    exit_code = 5


class ReplayMiss(ModelError):
    """--replay was asked for and a request has no stored answer."""


class ThresholdBreached(AnnotatorError):
    exit_code = 1


class StorageError(AnnotatorError):
    """The database refused to store results (disk full, lost connection, a constraint).

    A run stops at once on it: more model calls would only be paid for and lost.
    """

    exit_code = 7
