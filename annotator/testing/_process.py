"""The control API shared by both server flavours, and the subprocess flavour."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

CHAT_PATH = "/v1/chat/completions"


class ControlMixin:
    """Methods common to ``FakeServer`` and ``FakeServerProcess``.

    Subclasses set ``self.url`` (``http://host:port``) and implement ``script``,
    ``configure``, ``config``, ``requests``, ``reset`` and ``stats``.
    """

    url: str | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL, ``http://127.0.0.1:PORT/v1``."""
        if not self.url:
            raise RuntimeError("server is not running")
        return self.url + "/v1"

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1].split("/")[0])

    def chat_requests(self) -> list[dict]:
        """Recorded ``POST /v1/chat/completions`` requests, oldest first."""
        return self.requests(path=CHAT_PATH)

    def requests(self, path: str | None = None) -> list[dict]:  # pragma: no cover
        raise NotImplementedError

    def start(self) -> ControlMixin:  # pragma: no cover
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover
        raise NotImplementedError

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class FakeServerProcess(ControlMixin):
    """Runs ``python -m annotator.testing.fakeserver`` as a child process.

    Keyword arguments are fake-server config keys (``latency_s``, ``rpm``, ...).
    The control methods go over the ``/_fake/*`` admin endpoints.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, startup_timeout: float = 20.0, **config: Any):
        self.host, self.req_port, self.config_kwargs = host, port, config
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self._http: httpx.Client | None = None

    def start(self) -> FakeServerProcess:
        cmd = [sys.executable, "-m", "annotator.testing.fakeserver", "--host", self.host, "--port", str(self.req_port)]
        if self.config_kwargs:
            cmd += ["--config", json.dumps(self.config_kwargs)]
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_drain, args=(self.proc.stdout, lines), daemon=True).start()
        try:
            while True:
                line = lines.get(timeout=self.startup_timeout)
                if line is None:
                    raise RuntimeError(f"fake server exited with {self.proc.wait()}")
                match = re.search(r"listening on (http://\S+?)/v1\b", line)
                if match:
                    break
        except (queue.Empty, RuntimeError):
            self.stop()
            raise
        self.url = match.group(1)
        self._http = httpx.Client(base_url=self.url, timeout=30.0)
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc, self.url = None, None

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        if self._http is None:
            raise RuntimeError("server is not running")
        resp = self._http.request(method, path, **kw)
        if resp.status_code == 400:
            raise ValueError(resp.json()["error"]["message"])
        resp.raise_for_status()
        return resp.json()

    def script(self, steps: list[dict]) -> int:
        return self._call("POST", "/_fake/script", json=list(steps))["queued"]

    def configure(self, **cfg: Any) -> dict:
        return self._call("POST", "/_fake/config", json=cfg)

    def config(self) -> dict:
        return self._call("GET", "/_fake/config")

    def requests(self, path: str | None = None) -> list[dict]:
        return self._call("GET", "/_fake/requests", params={"path": path} if path else None)

    def reset(self, keep_config: bool = False) -> None:
        self._call("POST", "/_fake/reset", json={"keep_config": keep_config})

    def stats(self) -> dict:
        return self._call("GET", "/_fake/stats")


def _drain(stream, lines: queue.Queue) -> None:
    """Forward the child's stdout lines, and keep reading so the pipe never fills."""
    for line in stream:
        lines.put(line)
    lines.put(None)
