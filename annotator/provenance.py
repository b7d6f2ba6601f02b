"""Where a result came from: the code version (git commit and dirty flag)."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

from annotator import __version__

REPO_ROOT = Path(__file__).resolve().parent.parent


def _git(repo: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state(repo: Path | str | None = None) -> dict[str, Any]:
    """``{"commit", "dirty"}`` for a checkout; never raises.

    Dirty means tracked files differ from the commit. Without git or outside a
    checkout the commit falls back to ``$GITHUB_SHA`` (dirty unknown), else None.
    """
    repo = Path(repo) if repo else REPO_ROOT
    commit = _git(repo, "rev-parse", "HEAD")
    if not commit:
        return {"commit": os.environ.get("GITHUB_SHA") or None, "dirty": None}
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """``{"version", "commit", "dirty"}`` of this installation."""
    return {"version": __version__, **git_state()}


def code_version_string() -> str:
    info = code_version()
    if not info["commit"]:
        return info["version"]
    return f"{info['version']}+{info['commit'][:12]}{'.dirty' if info['dirty'] else ''}"
