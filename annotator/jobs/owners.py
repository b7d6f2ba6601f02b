"""Who holds a lease: owner names ("host:pid:tag") and whether their process still lives.

The task queue and the feed's run lock both name a lease's owner this way, so a process
can tell that a lease held on its own machine belongs to a process that has died.
"""

from __future__ import annotations

import os
import socket
import uuid


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def like_prefix(prefix: str) -> str:
    """A ``LIKE ... ESCAPE '!'`` pattern matching strings that start with ``prefix``."""
    return prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def local_pid(owner: str | None, host: str | None = None) -> int | None:
    """The process id in ``owner`` ("host:pid:tag") when it names a process of ``host``
    (default: this machine); None for another host or an owner of another form."""
    host = host or socket.gethostname()
    if not owner or not owner.startswith(host + ":"):
        return None
    pid = owner[len(host) + 1 :].split(":", 1)[0]
    return int(pid) if pid.isascii() and pid.isdigit() else None


def process_alive(pid: int) -> bool:
    """Whether a process of this machine with that id is running (this one always is)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
