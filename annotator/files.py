"""Files replaced whole: the one way the package writes an output a reader may open.

:func:`atomic_output` writes ``.NAME.<pid>.tmp`` beside the target, flushes it to disk
and renames it over the target when the block ends; a block that fails removes it.
Killed halfway (Ctrl-C, ``kill -9``, a full disk), the target keeps its previous
content or stays absent, never a truncated file that looks valid; only ``kill -9``
leaves the temporary file behind. Two writers of one file each write their own
temporary file and the last rename wins, so the file is always one writer's whole
output. Used by exports and eval reports.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def atomic_output(path: Path | str) -> Iterator[TextIO]:
    """A text file that replaces ``path`` whole when the block ends, and is removed if the
    block fails."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path | str, content: str) -> None:
    """``path`` holds ``content`` whole, or keeps what it held before."""
    with atomic_output(path) as fh:
        fh.write(content)
