"""``serve``: a built site on 127.0.0.1, for a quick look (the standard library's file server)."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from annotator.errors import InputError


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass


def make_server(site_dir: Path, port: int = 8000, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server for ``site_dir`` bound to ``host:port`` (port 0: any free port); not started."""
    site_dir = Path(site_dir)
    if not (site_dir / "index.html").is_file():
        raise InputError(
            "no built site here (index.html is missing): run annotator site build first", path=str(site_dir)
        )
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    return ThreadingHTTPServer((host, port), handler)


def serve_in_thread(site_dir: Path, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start serving in a daemon thread; returns the server (``shutdown()`` it) and its address."""
    server = make_server(site_dir, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, bound = server.server_address[:2]
    return server, f"http://{host!s}:{bound}/"
