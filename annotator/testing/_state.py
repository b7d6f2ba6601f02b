"""Shared mutable state of a fake server: config, script, faults, rate limit, records."""

from __future__ import annotations

import collections
import copy
import math
import random
import threading
import time
from typing import Any

from aiohttp import web

from annotator.testing._rater import check_rater

CONTENT_KINDS = {
    "ok",
    "judgment",
    "content",
    "bad_json",
    "out_of_range",
    "missing_field",
    "extra_field",
    "wrong_type",
    "truncated",
    "refusal",
    "empty",
    "fenced",
}
SCRIPT_KINDS = CONTENT_KINDS | {"status", "hang", "drop"}
FAULT_KINDS = (
    "429",
    "429_no_retry_after",
    "500",
    "503",
    "hang",
    "drop",
    "bad_json",
    "out_of_range",
    "missing_field",
    "extra_field",
    "wrong_type",
    "truncated",
    "refusal",
    "empty",
    "fenced",
)

DEFAULT_CONFIG: dict[str, Any] = {
    "latency_s": 0.0,  # added to every chat request (asyncio.sleep)
    "rpm": None,  # requests per window; None = unlimited
    "rpm_window_s": 60.0,  # the sliding window for rpm
    "fault_rates": {},  # fault kind -> probability, drawn with random.Random(seed)
    "seed": 0,
    "hang_s": 30.0,  # how long a "hang" fault sleeps
    "fault_retry_after_s": 1.0,  # Retry-After sent with a "429" fault
    "reject_json_schema": False,  # 400 on response_format.type == "json_schema"
    "model_name": None,  # None: echo the request's model
    "batch_fail_ids": [],  # custom_ids that always fail in a batch
    "batch_fail_rate": 0.0,  # fraction of other custom_ids that fail (hash of seed+id)
    "batch_polls_to_complete": 1,  # GETs of a batch until it reports "completed"
    "batch_apply_faults": False,  # let script/fault_rates answer batch lines too
    "rater": None,  # a noisy rater with known labels answers chats (see _rater)
}


def check_step(step: Any) -> dict:
    """Validate one script step; return it as a dict."""
    if not isinstance(step, dict) or step.get("kind") not in SCRIPT_KINDS:
        raise ValueError(f"bad script step {step!r}; kind must be one of {sorted(SCRIPT_KINDS)}")
    if step["kind"] == "status" and not isinstance(step.get("status"), int):
        raise ValueError(f"status step needs an int 'status': {step!r}")
    return dict(step)


def check_config(cfg: dict) -> dict:
    """Validate config keys and fault rates; return a copy."""
    unknown = set(cfg) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}; known: {sorted(DEFAULT_CONFIG)}")
    if cfg.get("rater") is not None:
        check_rater(cfg["rater"])
    rates = cfg.get("fault_rates")
    if rates is not None:
        bad = set(rates) - set(FAULT_KINDS)
        if bad:
            raise ValueError(f"unknown fault kinds {sorted(bad)}; known: {list(FAULT_KINDS)}")
        if any(p < 0 for p in rates.values()) or sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates must be >= 0 and sum to at most 1")
    return copy.deepcopy(cfg)


class FakeState:
    """Everything a running fake server knows. Thread-safe; no lock is held across awaits."""

    def __init__(self, **config: Any):
        self.initial = {**DEFAULT_CONFIG, **check_config(config)}
        self.lock = threading.Lock()
        self.reset()

    def reset(self, keep_config: bool = False) -> None:
        with self.lock:
            if not keep_config:
                self.config = copy.deepcopy(self.initial)
            self.rng = random.Random(self.config["seed"])
            self.script_queue: collections.deque[dict] = collections.deque()
            self.records: list[dict] = []
            self.window: collections.deque[float] = collections.deque()
            self.rpm_rejected = 0
            self.files: dict[str, dict] = {}
            self.batches: dict[str, dict] = {}

    def configure(self, **cfg: Any) -> dict:
        cfg = check_config(cfg)
        with self.lock:
            self.config.update(cfg)
            if "seed" in cfg:
                self.rng = random.Random(cfg["seed"])
            return copy.deepcopy(self.config)

    def get_config(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.config)

    def script(self, steps: list) -> int:
        checked = [check_step(s) for s in steps]
        with self.lock:
            self.script_queue.extend(checked)
            return len(self.script_queue)

    # -- per-request decisions ------------------------------------------------

    def take_rpm_slot(self) -> float | None:
        """Admit a request under the rpm limit; else return seconds until a slot frees."""
        with self.lock:
            rpm, span = self.config["rpm"], float(self.config["rpm_window_s"])
            if not rpm:
                return None
            now = time.monotonic()
            while self.window and self.window[0] <= now - span:
                self.window.popleft()
            if len(self.window) < rpm:
                self.window.append(now)
                return None
            self.rpm_rejected += 1
            return max(0.0, self.window[0] + span - now)

    def next_step(self, use_script: bool = True) -> tuple[dict, str]:
        """The step for the next request and where it came from ("script", "fault", "default")."""
        with self.lock:
            if use_script and self.script_queue:
                return self.script_queue.popleft(), "script"
            rates = self.config["fault_rates"]
            if rates:
                draw, acc = self.rng.random(), 0.0
                for kind in FAULT_KINDS:
                    acc += rates.get(kind, 0.0)
                    if draw < acc:
                        return self.fault_step(kind), "fault"
            return {"kind": "ok"}, "default"

    def fault_step(self, kind: str) -> dict:
        cfg = self.config
        if kind == "429":
            return {"kind": "status", "status": 429, "retry_after": cfg["fault_retry_after_s"], "fault": kind}
        if kind == "429_no_retry_after":
            return {"kind": "status", "status": 429, "fault": kind}
        if kind in ("500", "503"):
            return {"kind": "status", "status": int(kind), "fault": kind}
        if kind == "hang":
            return {"kind": "hang", "seconds": cfg["hang_s"], "fault": kind}
        return {"kind": kind, "fault": kind}

    # -- recording ------------------------------------------------------------

    def add_record(self, record: dict) -> None:
        with self.lock:
            record["seq"] = len(self.records)
            self.records.append(record)

    def get_records(self, path: str | None = None) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(r) for r in self.records if path is None or r["path"] == path]

    def stats(self) -> dict:
        """Counts of recorded requests by status, by applied step, and rpm rejections."""
        with self.lock:
            by_status: collections.Counter[str] = collections.Counter()
            applied: collections.Counter[str] = collections.Counter()
            for r in self.records:
                by_status[str(r["status"]) if r["status"] is not None else "none"] += 1
                if r.get("applied"):
                    applied[r["applied"]] += 1
            return {
                "total": len(self.records),
                "by_status": dict(by_status),
                "status_429": by_status.get("429", 0),
                "rpm_rejected": self.rpm_rejected,
                "applied": dict(applied),
                "script_left": len(self.script_queue),
            }


def retry_after_header(seconds: float) -> str:
    """Retry-After value: whole seconds if integral, else the number as given."""
    seconds = float(seconds)
    return str(int(seconds)) if seconds.is_integer() else f"{seconds:g}"


def rpm_retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


STATE_KEY = web.AppKey("fake_state", FakeState)
# Where a request's record lives (aiohttp < 3.13 has no RequestKey: a plain string then).
RECORD_KEY: Any = web.RequestKey("fake_record", dict) if hasattr(web, "RequestKey") else "fake_record"
