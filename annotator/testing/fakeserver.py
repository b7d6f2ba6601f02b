"""A fake OpenAI-compatible server for tests and benchmarks.

In-process: ``with FakeServer(latency_s=0.0) as fs: ... fs.base_url ...``.
As a process: ``python -m annotator.testing.fakeserver --port 0 --latency-ms 200``
(or ``FakeServerProcess``), driven over the ``/_fake/*`` admin endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from typing import Any

from aiohttp import web

from . import _batch, _embeddings
from . import _replies as R
from ._process import CHAT_PATH, ControlMixin, FakeServerProcess
from ._rater import reply as rater_reply
from ._state import RECORD_KEY, STATE_KEY, FakeState, retry_after_header, rpm_retry_after

__all__ = ["FakeServer", "FakeServerProcess", "FakeState", "make_app", "main"]

MAX_BODY = 1 << 30  # batch input files can be large


def _error(status: int, message: str | None = None, headers: dict | None = None) -> web.Response:
    return web.json_response(R.error_body(status, message), status=status, headers=headers)


@web.middleware
async def _record(request: web.Request, handler):
    """Record every non-admin request: method, path, headers, JSON body, status, step."""
    if request.path.startswith("/_fake/"):
        return await handler(request)
    body: Any = None
    if request.content_type == "application/json" and request.can_read_body:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
    # Every key exists from the start: readers copy records while requests run.
    record = {
        "seq": None,
        "method": request.method,
        "path": request.path,
        "query": dict(request.query),
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "body": body,
        "time": time.time(),
        "duration_s": None,
        "status": None,
        "source": None,
        "applied": None,
        "step": None,
    }
    request[RECORD_KEY] = record
    request.app[STATE_KEY].add_record(record)
    started = time.monotonic()
    try:
        response = await handler(request)
        record["status"] = response.status
        return response
    except web.HTTPException as exc:
        record["status"] = exc.status
        raise
    finally:
        record["duration_s"] = time.monotonic() - started


async def _chat(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    record = request[RECORD_KEY]
    body = record["body"]
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return _error(400, "body must be a JSON object with 'messages'")
    wait = state.take_rpm_slot()
    if wait is not None:
        record.update(source="rpm", applied="rpm_429")
        return _error(429, "fake rpm limit reached", {"Retry-After": rpm_retry_after(wait)})
    with state.lock:
        latency, reject = state.config["latency_s"], state.config["reject_json_schema"]
        model = R.model_for(state.config, body)
    fmt = body.get("response_format")
    if reject and isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        record.update(source="reject_json_schema", applied="400")
        return _error(400, "response_format json_schema is not supported by this server")
    step, source = state.next_step()
    record.update(source=source, applied=R.step_label(step), step=step)
    delay = float(latency or 0) + float(step.get("delay_s") or 0)
    if delay > 0:
        await asyncio.sleep(delay)
    return await _execute(request, step, body, model)


async def _execute(request: web.Request, step: dict, body: dict, model: str):
    kind = step["kind"]
    if kind == "status":
        status = step["status"]
        retry = step.get("retry_after")
        headers = {"Retry-After": retry_after_header(retry)} if retry is not None else None
        return _error(status, step.get("message"), headers)
    if kind == "drop":
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError()  # nothing is written; aiohttp drops the request
    if kind == "hang":
        state = request.app[STATE_KEY]
        seconds = step.get("seconds")
        if seconds is None:
            with state.lock:
                seconds = state.config["hang_s"]
        await asyncio.sleep(float(seconds))
        kind = "ok"
    with request.app[STATE_KEY].lock:
        rater = request.app[STATE_KEY].config.get("rater")
    if rater and kind == "ok" and set(step) <= {"kind", "delay_s"}:  # the noisy rater answers
        rated, logprobs = rater_reply(body, R.last_user_text(body), rater)
        completion = R.chat_completion(body, model, rated)
        completion["choices"][0]["logprobs"] = None if logprobs is None else {"content": logprobs}
        return web.json_response(completion)
    content, finish, refusal = R.content_for(kind, step, R.last_user_text(body))
    return web.json_response(R.chat_completion(body, model, content, finish_reason=finish, refusal=refusal))


async def _models(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    with state.lock:
        name = state.config["model_name"] or "fake-model"
    return web.json_response(
        {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "fake"}]}
    )


# -- admin endpoints ------------------------------------------------------------


async def _json_or(request: web.Request, default: Any) -> Any:
    return await request.json() if request.can_read_body else default


def _admin(fn):
    async def handler(request: web.Request) -> web.Response:
        try:
            return web.json_response(await fn(request, request.app[STATE_KEY]))
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))

    return handler


@_admin
async def _admin_script(request, state):
    steps = await _json_or(request, [])
    if isinstance(steps, dict):
        steps = steps.get("steps", [])
    if not isinstance(steps, list):
        raise ValueError("script must be a JSON list of steps")
    return {"queued": state.script(steps)}


@_admin
async def _admin_config(request, state):
    if request.method == "GET":
        return state.get_config()
    cfg = await _json_or(request, {})
    if not isinstance(cfg, dict):
        raise ValueError("config must be a JSON object")
    return state.configure(**cfg)


@_admin
async def _admin_requests(request, state):
    return state.get_records(request.query.get("path"))


@_admin
async def _admin_stats(request, state):
    return state.stats()


@_admin
async def _admin_reset(request, state):
    opts = await _json_or(request, {}) or {}
    state.reset(keep_config=bool(opts.get("keep_config", False)))
    return {"ok": True}


def make_app(state: FakeState) -> web.Application:
    """The aiohttp application serving ``state``."""
    app = web.Application(middlewares=[_record], client_max_size=MAX_BODY)
    app[STATE_KEY] = state
    app.router.add_post(CHAT_PATH, _chat)
    app.router.add_get("/v1/models", _models)
    _batch.add_routes(app)
    _embeddings.add_routes(app)  # /v1/embeddings and /_fake/embeddings
    app.router.add_post("/_fake/script", _admin_script)
    app.router.add_route("*", "/_fake/config", _admin_config)
    app.router.add_get("/_fake/requests", _admin_requests)
    app.router.add_get("/_fake/stats", _admin_stats)
    app.router.add_post("/_fake/reset", _admin_reset)
    return app


async def _serve(state: FakeState, host: str, port: int) -> tuple[web.AppRunner, int]:
    # handler_cancellation: a client that gives up (timeout) cancels its handler.
    runner = web.AppRunner(make_app(state), handler_cancellation=True, access_log=None, shutdown_timeout=0.25)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=2048).start()
    return runner, runner.addresses[0][1]


class FakeServer(ControlMixin):
    """The fake server in a background thread with its own event loop.

    Keyword arguments are config keys (see ``_state.DEFAULT_CONFIG``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **config: Any):
        self.host, self.req_port = host, port
        self.state = FakeState(**config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def start(self) -> FakeServer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-openai", daemon=True)
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(_serve(self.state, self.host, self.req_port), self._loop)
        self._runner, port = fut.result(timeout=10)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        self._loop = self._thread = self._runner = self.url = None

    def script(self, steps: list[dict]) -> int:
        """Queue steps, one per chat request (FIFO). Returns the queue length."""
        return self.state.script(steps)

    def configure(self, **cfg: Any) -> dict:
        """Change config keys; returns the whole config."""
        return self.state.configure(**cfg)

    def config(self) -> dict:
        return self.state.get_config()

    def requests(self, path: str | None = None) -> list[dict]:
        """Recorded requests (copies), optionally only those to ``path``."""
        return self.state.get_records(path)

    def reset(self, keep_config: bool = False) -> None:
        """Forget script, records, rate window, files and batches; restore initial config."""
        self.state.reset(keep_config=keep_config)

    def stats(self) -> dict:
        return self.state.stats()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Fake OpenAI-compatible server.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency-ms", type=float, default=None)
    ap.add_argument("--rpm", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--model-name", default=None)
    ap.add_argument("--reject-json-schema", action="store_true")
    ap.add_argument("--config", default=None, help="JSON object of further config keys")
    args = ap.parse_args(argv)
    config = json.loads(args.config) if args.config else {}
    for key, value in (
        ("latency_s", None if args.latency_ms is None else args.latency_ms / 1000),
        ("rpm", args.rpm),
        ("seed", args.seed),
        ("model_name", args.model_name),
        ("reject_json_schema", args.reject_json_schema or None),
    ):
        if value is not None:
            config[key] = value
    state = FakeState(**config)

    async def serve() -> None:
        runner, port = await _serve(state, args.host, args.port)
        print(f"listening on http://{args.host}:{port}/v1", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
