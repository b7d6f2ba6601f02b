"""Machine-readable output shared by the commands.

Every command that prints a table takes ``--json``. On most it is a flag that
prints JSON on stdout instead of the table. Commands whose ``--json`` already
named a file to write (``compare``, ``costs``, ``eval compare``, ``report
biblio``) keep that, and ``--json -`` prints the JSON on stdout instead of the
table, the usual ``-`` for stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

STDOUT = "-"


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (dates and other values as strings)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def is_stdout(path: Optional[Path]) -> bool:
    """True when a ``--json PATH`` option was given as ``-``."""
    return path is not None and str(path) == STDOUT
