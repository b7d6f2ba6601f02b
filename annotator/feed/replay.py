"""A local HTTP server that plays recorded API responses back (tests and benchmarks).

A manifest (JSON) lists routes in order; a request gets the first route whose
``path`` equals its path and whose ``query`` items all equal its query
parameters (other parameters are ignored). A route may answer a limited number
of ``times`` (a 503 served once, say) and may set ``status`` and ``headers``;
``body`` names a file beside the manifest. Every request is recorded with the
route that answered it; a request no route matches gets a 404 that says so.

    with ReplayServer("tests/data/recorded/routes.json") as server:
        ... server.base_url ... server.requests ...
    transport = ReplayServer(manifest).transport()   # the same, as an httpx transport

As a process: ``python -m annotator.feed.replay MANIFEST [--port 0] [--delay-ms N]``
prints the base URL, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

TYPES = {
    ".xml": "application/atom+xml; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}


class ReplayServer:
    def __init__(self, manifest: str | Path, *, port: int = 0, delay_s: float = 0.0):
        self.manifest = Path(manifest)
        self.routes: list[dict[str, Any]] = json.loads(self.manifest.read_text())["routes"]
        self.served = [0] * len(self.routes)
        self.requests: list[dict[str, Any]] = []
        self.delay_s = delay_s
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread: threading.Thread | None = None

    def route_for(self, path: str, query: dict[str, str]) -> tuple[int | None, dict[str, Any]]:
        with self._lock:
            for i, route in enumerate(self.routes):
                if route["path"] != path or "times" in route and self.served[i] >= route["times"]:
                    continue
                if all(query.get(k) == str(v) for k, v in (route.get("query") or {}).items()):
                    self.served[i] += 1
                    return i, route
        return None, {"status": 404, "text": f"no recorded response for {path} {query}"}

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes, str]:
        """(status, headers, body, content type) for a request, recorded as served."""
        index, route = self.route_for(path, query)
        body = (
            (self.manifest.parent / route["body"]).read_bytes() if route.get("body") else route.get("text", "").encode()
        )
        status = int(route.get("status", 200))
        with self._lock:
            self.requests.append(
                {"path": path, "query": query, "route": index, "status": status, "body": route.get("body")}
            )
        kind = TYPES.get(Path(route.get("body") or "x.txt").suffix, TYPES[".txt"])
        return status, {k: str(v) for k, v in (route.get("headers") or {}).items()}, body, kind

    def transport(self) -> httpx.MockTransport:
        """The same answers without a socket: an httpx transport to inject (any host)."""

        def handle(request: httpx.Request) -> httpx.Response:
            query = {k: v for k, v in request.url.params.items()}
            status, headers, body, kind = self.answer(request.url.path, query)
            return httpx.Response(status, headers={**headers, "Content-Type": kind}, content=body)

        return httpx.MockTransport(handle)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (the stdlib's name)
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if replay.delay_s:
                    time.sleep(replay.delay_s)
                status, headers, body, kind = replay.answer(url.path, query)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for a serve_forever that never ran
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = ReplayServer(args.manifest, port=args.port, delay_s=args.delay_ms / 1000)
    print(server.base_url, flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()


if __name__ == "__main__":
    main()
