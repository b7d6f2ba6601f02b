"""Publishing a build: the site is written into a fresh folder beside the target and swapped in
whole, so nobody ever reads a half-written site and pages no longer produced disappear.

``staged(target)`` yields ``<target>.tmp-<random>`` in the target's parent folder (same
file system, so the swap is two renames, never a copy). When the build succeeds, the
target is renamed to ``<target>.old-<random>``, the new folder is renamed to the target,
and the old one is deleted. What a reader of the target sees:

- while the build runs: the old site, untouched, from first page to last;
- between the two renames (microseconds): no folder at all (a web server answers 404),
  never a mix of old and new pages;
- after the second rename: the new site only. A page opened from the old site keeps
  working until its next link (the old folder is deleted right after the swap).

A target that is a symbolic link has the link itself swapped: afterwards it is a folder.

**A build that fails** (an exception, Ctrl-C) deletes its own temporary folder; the old
site stays. **A build that is killed** (``kill -9``, a power cut) cannot: its
temporary folder stays until the next build for the same target deletes it. Each build
holds an advisory lock (``fcntl.flock``) on ``.building`` inside its temporary folder;
the operating system drops it when the process dies, which is how the next build tells
a dead build's folder from a running one's, whatever their ages. Without ``fcntl``
(Windows), a temporary folder counts as abandoned after a day.

**Two builds at once** for one target each write their own temporary folder; each swaps
its folder in when done, so the later swap wins and both leave a whole site. A rename
that finds the target occupied again (the other build swapped in between) moves that
site aside and tries again.

**What may be replaced**: a missing folder, an empty one, or one that looks like a site
this tool built: it holds the marker file ``.annotator-site`` (every build writes it), or
(sites built before the marker) it holds ``index.html`` and nothing but the names a build
writes. Anything else is refused with an ``InputError`` before any work, so
``site build -o ~`` cannot delete a home folder.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from annotator.errors import AnnotatorError, InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

MARKER = ".annotator-site"
LOCK = ".building"
# what a site built before the marker existed holds at its top level
LEGACY_ENTRIES = frozenset({"index.html", "papers", "paper", "authors", "boards", "prompts", "evals", "static"})
ABANDONED_AFTER_S = 86_400  # without fcntl: a temporary folder this old is a dead build's
SWAP_ATTEMPTS = 20


def check_replaceable(target: Path) -> None:
    """Raise ``InputError`` unless ``target`` is missing, empty, or a site this tool built."""
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        raise InputError("is a file, not a site folder: choose a folder for the site", path=str(target))
    entries = set(os.listdir(target))
    if not entries or MARKER in entries:
        return
    if "index.html" in entries and entries <= LEGACY_ENTRIES:
        return
    raise InputError(
        f"is not a site this tool built (no {MARKER} file) and is not empty: "
        "choose a new or empty folder, or remove this one first",
        path=str(target),
    )


def _lock(folder: Path):
    """Create ``folder/.building`` already locked: locked under another name, then renamed, so
    the file never exists unlocked while its build runs."""
    fd = os.open(folder / f"{LOCK}-new", os.O_CREAT | os.O_RDWR, 0o644)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(folder / f"{LOCK}-new", folder / LOCK)
    return fd


def _held(lock: Path) -> bool:
    """Is the build that owns this lock file still running?"""
    if fcntl is None:
        return time.time() - lock.stat().st_mtime < ABANDONED_AFTER_S
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the lock if we took it
    return False


def _remove(path: Path) -> None:
    if path.is_symlink():
        with suppress(FileNotFoundError):
            path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def clean_stale(target: Path) -> list[Path]:
    """Delete what dead builds for ``target`` left beside it; returns what was deleted.

    A temporary folder goes when its lock is not held (its build died); a retired site
    (``.old-``) goes when it holds the marker and no lock. Folders of running builds, and
    anything without our files, stay.
    """
    removed = []
    stem = glob.escape(target.name)
    for path in sorted(target.parent.glob(f"{stem}.tmp-*")) + sorted(target.parent.glob(f"{stem}.old-*")):
        if path.is_symlink() or not path.is_dir():
            continue
        lock = path / LOCK
        if lock.exists():
            stale = not _held(lock)
        elif path.name.startswith(f"{target.name}.old-"):
            stale = (path / MARKER).exists()
        else:  # created, then killed before its lock existed
            entries = set(os.listdir(path))
            stale = entries <= {f"{LOCK}-new"} and time.time() - path.stat().st_mtime > 60
        if stale:
            _remove(path)
            removed.append(path)
    return removed


def _fresh_folder(target: Path) -> Path:
    """``<target>.tmp-<random>``, created with the default permissions (the umask's)."""
    while True:
        path = target.with_name(f"{target.name}.tmp-{secrets.token_hex(6)}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def _swap(new: Path, target: Path) -> None:
    """Move ``target`` aside, ``new`` in, delete the old one (see the module docstring)."""
    for _ in range(SWAP_ATTEMPTS):
        old = None
        if os.path.lexists(target):
            check_replaceable(target)
            old = target.with_name(f"{target.name}.old-{secrets.token_hex(6)}")
            try:
                os.rename(target, old)
            except FileNotFoundError:  # another build moved it first
                continue
        try:
            os.rename(new, target)
        except OSError:
            if not os.path.lexists(target):
                if old is not None:  # a real failure: put the old site back
                    os.rename(old, target)
                raise
            if old is not None:
                _remove(old)
            continue  # another build swapped its site in between: move that aside in turn
        if old is not None:
            _remove(old)
        return
    raise AnnotatorError(f"{target}: could not swap the new site in: other builds kept replacing it")


@contextmanager
def staged(target: Path) -> Iterator[Path]:
    """Yield a fresh folder beside ``target`` to build into; swap it in when the block ends
    normally, delete it when the block raises (the old site stays)."""
    target = Path(os.path.abspath(target))
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    folder = _fresh_folder(target)
    fd = None
    try:
        fd = _lock(folder)
        yield folder
        (folder / MARKER).write_text(
            "A static site written by `annotator site build`. The next build replaces this folder whole.\n",
            encoding="utf-8",
        )
        _swap(folder, target)
        with suppress(FileNotFoundError):  # gone already if another build replaced it
            (target / LOCK).unlink()
    except BaseException:
        _remove(folder)
        raise
    finally:
        if fd is not None:
            os.close(fd)
