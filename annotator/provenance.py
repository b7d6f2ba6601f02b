"""Where a result came from: the package version and the git commit it was run from."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from annotator.settings import current
from annotator.version import __version__

REPO_ROOT = Path(__file__).resolve().parent.parent


class CodeVersion(BaseModel):
    """The package version, and the commit and dirty flag of the checkout (None: unknown).

    Dirty means tracked files differ from the commit. Without git or outside a checkout
    the commit falls back to ``$GITHUB_SHA`` (dirty unknown), else None. An installed
    copy (a wheel in site-packages) has no commit: the version is what identifies it.
    """

    model_config = ConfigDict(frozen=True)

    version: str = __version__
    commit: str | None = None
    dirty: bool | None = None

    @property
    def label(self) -> str:
        """``0.1.0``, or ``0.1.0+<12 hex digits>`` with ``.dirty`` when files changed."""
        if not self.commit:
            return self.version
        return f"{self.version}+{self.commit[:12]}{'.dirty' if self.dirty else ''}"


def _git(repo: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _read(repo: Path) -> CodeVersion:
    commit = _git(repo, "rev-parse", "HEAD")
    if not commit:
        return CodeVersion(commit=current().github_sha or None)
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    return CodeVersion(commit=commit, dirty=None if status is None else bool(status))


def _is_source_tree(root: Path) -> bool:
    """The project's own tree (a checkout): not site-packages, which may sit inside the
    user's repository, whose commit and ``$GITHUB_SHA`` are not this code's."""
    if not (root / "pyproject.toml").is_file():
        return False
    top = _git(root, "rev-parse", "--show-toplevel")
    return top is None or Path(top).resolve() == root


@functools.lru_cache(maxsize=1)
def _installed() -> CodeVersion:
    return _read(REPO_ROOT) if _is_source_tree(REPO_ROOT) else CodeVersion()


def code_version(repo: Path | str | None = None) -> CodeVersion:
    """The code version of a checkout (default: this installation's, read once); never raises."""
    return _installed() if repo is None else _read(Path(repo))
