"""Where a result came from: the code version (git commit and dirty flag)."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from annotator import __version__

REPO_ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """``{"version", "commit", "dirty"}``; commit is None outside a git checkout."""
    commit = _git("rev-parse", "HEAD")
    dirty = None
    if commit is not None:
        status = _git("status", "--porcelain", "--untracked-files=no")
        dirty = bool(status)
    return {"version": __version__, "commit": commit, "dirty": dirty}


def code_version_string() -> str:
    info = code_version()
    if not info["commit"]:
        return info["version"]
    return f"{info['version']}+{info['commit'][:12]}{'.dirty' if info['dirty'] else ''}"
