"""Reply bodies for the fake server: judgments, chat completions, errors, faults."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

RATIONALES = (
    "Incremental method; the evaluation reuses standard benchmarks.",
    "Proposes a new formulation with a clear empirical gain.",
    "Mostly an engineering report; few new ideas.",
    "Combines known components in an unusual way.",
    "Strong theoretical contribution with limited experiments.",
    "A survey-like paper that organises prior work.",
    "New dataset and task; the baselines are thin.",
    "Careful ablations support a modest but real improvement.",
)

ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    503: ("server_error", "overloaded"),
}


def message_text(content: Any) -> str:
    """Text of a message ``content`` (a string or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def last_user_text(body: dict) -> str:
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return message_text(msg.get("content"))
    return ""


def judgment_for(text: str) -> dict:
    """A valid judgment derived from a hash of ``text`` (same text, same judgment)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return {
        "ai_score": int.from_bytes(digest[0:4], "big") % 101,
        "novelty": int.from_bytes(digest[4:8], "big") % 101,
        "rationale": RATIONALES[digest[8] % len(RATIONALES)],
    }


def count_tokens(text: str) -> int:
    """Rough token count: one token per four characters, at least one for non-empty text."""
    return (len(text) + 3) // 4


def prompt_tokens(body: dict) -> int:
    msgs = body.get("messages") or []
    return sum(count_tokens(message_text(m.get("content"))) for m in msgs if isinstance(m, dict))


def chat_completion(
    body: dict, model: str, content: str | None, *, finish_reason: str = "stop", refusal: str | None = None
) -> dict:
    """A standard ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    p_tok = prompt_tokens(body)
    c_tok = count_tokens(content or refusal or "")
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex[:24],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": p_tok, "completion_tokens": c_tok, "total_tokens": p_tok + c_tok},
    }


def error_body(status: int, message: str | None = None) -> dict:
    """An OpenAI-style error object for an HTTP status."""
    etype, code = ERROR_TYPES.get(status, ("api_error", f"http_{status}"))
    return {"error": {"message": message or f"fake server error {status}", "type": etype, "param": None, "code": code}}


def content_for(kind: str, step: dict, text: str) -> tuple[str | None, str, str | None]:
    """Content, finish_reason and refusal for a content-producing step ``kind``."""
    base = judgment_for(text)
    dump = json.dumps
    if kind in ("ok", "judgment"):
        reply = {**base, **{k: step[k] for k in ("ai_score", "novelty", "rationale") if k in step}}
        reply.update(step.get("extra") or {})
        return dump(reply), step.get("finish_reason", "stop"), None
    if kind == "content":
        return step.get("content"), step.get("finish_reason", "stop"), None
    if kind == "bad_json":
        return (
            (f"{{ai_score: {base['ai_score']:d}, novelty: {base['novelty']:d}, rationale: '{base['rationale']}'"),
            "stop",
            None,
        )
    if kind == "out_of_range":
        return dump({**base, "ai_score": 100 + base["ai_score"] + 1, "novelty": -1 - base["novelty"]}), "stop", None
    if kind == "missing_field":
        return dump({"ai_score": base["ai_score"], "rationale": base["rationale"]}), "stop", None
    if kind == "extra_field":
        return dump({**base, "confidence": 0.5}), "stop", None
    if kind == "wrong_type":
        return dump({**base, "ai_score": "high", "novelty": str(base["novelty"])}), "stop", None
    if kind == "truncated":
        full = dump(base)
        return full[: max(1, len(full) * 3 // 5)], "length", None
    if kind == "refusal":
        return None, "stop", step.get("refusal", "I'm sorry, but I can't help with that.")
    if kind == "empty":
        return "", "stop", None
    if kind == "fenced":
        return (
            (
                "Sure! Here is my assessment of the paper.\n\n```json\n"
                + json.dumps(base, indent=2)
                + "\n```\n\nLet me know if you need more detail."
            ),
            "stop",
            None,
        )
    raise ValueError(f"not a content kind: {kind}")


def model_for(config: dict, body: dict) -> str:
    """The model name a reply carries: the configured one, else the request's."""
    return config.get("model_name") or body.get("model") or "fake-model"


def step_label(step: dict) -> str:
    """Short name of what a step does, for records and stats ("ok", "429", "hang", ...)."""
    if step.get("fault"):
        return step["fault"]
    if step["kind"] == "status":
        return str(step["status"])
    return step["kind"]
