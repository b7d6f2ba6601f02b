"""Files and Batch API of the fake server (``/v1/files``, ``/v1/batches``)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable

from aiohttp import web

from . import _replies as R
from ._state import RECORD_KEY, STATE_KEY, FakeState

CHAT_PATH = "/v1/chat/completions"


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def _error(status: int, message: str) -> web.Response:
    return web.json_response(R.error_body(status, message), status=status)


def _store_file(state: FakeState, data: bytes, filename: str, purpose: str) -> dict:
    file_id = _new_id("file")
    meta = {
        "id": file_id,
        "object": "file",
        "bytes": len(data),
        "created_at": int(time.time()),
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
        "status_details": None,
        "expires_at": None,
    }
    with state.lock:
        state.files[file_id] = {"meta": meta, "data": data}
    return meta


async def create_file(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    form = await request.post()
    upload, purpose = form.get("file"), form.get("purpose")
    if not isinstance(upload, web.FileField) or not isinstance(purpose, str):
        return _error(400, "multipart form needs 'file' and 'purpose'")
    data = upload.file.read()
    meta = _store_file(state, data, upload.filename or "upload.jsonl", purpose)
    request[RECORD_KEY]["body"] = {"purpose": purpose, "filename": meta["filename"], "bytes": len(data)}
    return web.json_response(meta)


def _get_file(request: web.Request) -> dict | None:
    state = request.app[STATE_KEY]
    with state.lock:
        return state.files.get(request.match_info["file_id"])


async def get_file(request: web.Request) -> web.Response:
    entry = _get_file(request)
    return web.json_response(entry["meta"]) if entry else _error(404, "no such file")


async def file_content(request: web.Request) -> web.Response:
    entry = _get_file(request)
    if not entry:
        return _error(404, "no such file")
    return web.Response(body=entry["data"], content_type="application/octet-stream")


async def create_batch(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = request[RECORD_KEY]["body"]
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    file_id = body.get("input_file_id")
    if body.get("endpoint") != CHAT_PATH:
        return _error(400, f"only endpoint {CHAT_PATH} is supported")
    now = int(time.time())
    batch = {
        "id": _new_id("batch"),
        "object": "batch",
        "endpoint": CHAT_PATH,
        "input_file_id": file_id,
        "completion_window": body.get("completion_window", "24h"),
        "status": "validating",
        "created_at": now,
        "expires_at": now + 86400,
        "in_progress_at": None,
        "completed_at": None,
        "output_file_id": None,
        "error_file_id": None,
        "errors": None,
        "metadata": body.get("metadata"),
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "polls": 0,
    }
    with state.lock:
        if file_id not in state.files:
            return _error(400, f"no such input file {file_id!r}")
        state.batches[batch["id"]] = batch
    return web.json_response(_public(batch))


def _public(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if k != "polls"}


async def get_batch(request: web.Request) -> web.Response:
    return _answer_batch(request, _poll)


async def cancel_batch(request: web.Request) -> web.Response:
    return _answer_batch(request, _cancel)


def _answer_batch(request: web.Request, step: Callable[[FakeState, dict], bool]) -> web.Response:
    """Apply ``step`` to the batch the URL names, under the state lock (404 when there is no
    such batch); when ``step`` says the batch is due and it is still in progress, run it."""
    state = request.app[STATE_KEY]
    with state.lock:
        batch = state.batches.get(request.match_info["batch_id"])
        if batch is None:
            return _error(404, "no such batch")
        due = step(state, batch)
    if due and batch["status"] == "in_progress":
        _run_batch(state, batch)
    return web.json_response(_public(batch))


def _poll(state: FakeState, batch: dict) -> bool:
    """Count a poll; the batch starts on the first one and is due after the configured number."""
    batch["polls"] += 1
    due = batch["polls"] >= state.config["batch_polls_to_complete"]
    if batch["status"] == "validating":
        batch["status"], batch["in_progress_at"] = "in_progress", int(time.time())
    return due


def _cancel(state: FakeState, batch: dict) -> bool:
    if batch["status"] in ("validating", "in_progress"):
        batch["status"], batch["cancelled_at"] = "cancelled", int(time.time())
    return False


def _fails(config: dict, custom_id: str) -> bool:
    if custom_id in config["batch_fail_ids"]:
        return True
    rate = config["batch_fail_rate"] or 0.0
    digest = hashlib.sha256(f"{config['seed']}:{custom_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < rate


def _answer(state: FakeState, line: dict, config: dict) -> tuple[dict | None, dict | None]:
    """(response, error) for one input line."""
    custom_id, body = line.get("custom_id"), line.get("body")
    if not isinstance(custom_id, str) or not isinstance(body, dict) or line.get("url") != CHAT_PATH:
        return None, {"code": "invalid_request", "message": "line needs custom_id, url, body"}
    if _fails(config, custom_id):
        return None, {"code": "fake_failure", "message": f"configured failure for {custom_id}"}
    step, _ = state.next_step() if config["batch_apply_faults"] else ({"kind": "ok"}, "default")
    req_id = "req_" + uuid.uuid4().hex[:24]
    if step["kind"] in ("hang", "drop"):
        return None, {"code": "server_error", "message": f"fake {step['kind']}"}
    if step["kind"] == "status":
        status = int(step["status"])
        return {"status_code": status, "request_id": req_id, "body": R.error_body(status, step.get("message"))}, None
    content, finish, refusal = R.content_for(step["kind"], step, R.last_user_text(body))
    completion = R.chat_completion(body, R.model_for(config, body), content, finish_reason=finish, refusal=refusal)
    return {"status_code": 200, "request_id": req_id, "body": completion}, None


def _run_batch(state: FakeState, batch: dict) -> None:
    """Answer every line of the input file and mark the batch completed."""
    config = state.get_config()
    config["batch_fail_ids"] = set(config["batch_fail_ids"] or ())
    with state.lock:
        data = state.files[batch["input_file_id"]]["data"]
    ok_lines: list[str] = []
    err_lines: list[str] = []
    for raw in data.decode("utf-8").splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            line = {}
        response, error = _answer(state, line if isinstance(line, dict) else {}, config)
        out = {"id": _new_id("batch_req"), "custom_id": line.get("custom_id"), "response": response, "error": error}
        good = error is None and response is not None and response["status_code"] == 200
        (ok_lines if good else err_lines).append(json.dumps(out))
    stem = batch["id"]
    if ok_lines:
        meta = _store_file(state, ("\n".join(ok_lines) + "\n").encode(), f"{stem}_output.jsonl", "batch_output")
        batch["output_file_id"] = meta["id"]
    if err_lines:
        meta = _store_file(state, ("\n".join(err_lines) + "\n").encode(), f"{stem}_error.jsonl", "batch_output")
        batch["error_file_id"] = meta["id"]
    with state.lock:
        batch["request_counts"] = {
            "total": len(ok_lines) + len(err_lines),
            "completed": len(ok_lines),
            "failed": len(err_lines),
        }
        batch["status"], batch["completed_at"] = "completed", int(time.time())


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/files", create_file)
    app.router.add_get("/v1/files/{file_id}", get_file)
    app.router.add_get("/v1/files/{file_id}/content", file_content)
    app.router.add_post("/v1/batches", create_batch)
    app.router.add_get("/v1/batches/{batch_id}", get_batch)
    app.router.add_post("/v1/batches/{batch_id}/cancel", cancel_batch)
