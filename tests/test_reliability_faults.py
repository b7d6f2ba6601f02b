"""Fault injection: 1,000 papers against a fake server that fails in every way it knows.

Every HTTP attempt the client makes is paired with what the fake server
recorded for it (same request body, same order), so the test can check, per
attempt, that the stored outcome matches what the server did and that the
tokens stored are exactly the usage the server sent.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict

import pytest
from _pg import fetch, ingest, write_papers

from annotator.jobs.annotate import AnnotateOptions, annotate
from annotator.judge.client import request_hash
from annotator.prompts.schema import JudgmentReply, parse_reply
from annotator.settings import get_settings
from annotator.testing import _replies as R
from annotator.testing.fakeserver import FakeServerProcess

N_PAPERS = 1000
FAULTS = {
    "429": 0.03,
    "429_no_retry_after": 0.03,
    "500": 0.03,
    "503": 0.03,
    "hang": 0.02,
    "drop": 0.03,
    "bad_json": 0.03,
    "out_of_range": 0.03,
    "missing_field": 0.03,
    "extra_field": 0.03,
    "wrong_type": 0.03,
    "truncated": 0.03,
    "refusal": 0.03,
    "empty": 0.03,
    "fenced": 0.02,
}
TIMEOUT_S = 0.5
MAX_RETRIES = 3
MAX_REASKS = 2


def _server_usage(record: dict) -> tuple[int, int]:
    """The usage the fake server put in the 200 reply it sent for ``record``."""
    step, body = record["step"], record["body"]
    kind = "ok" if step["kind"] == "hang" else step["kind"]
    content, finish, refusal = R.content_for(kind, step, R.last_user_text(body))
    usage = R.chat_completion(body, "m", content, finish_reason=finish, refusal=refusal)["usage"]
    return usage["prompt_tokens"], usage["completion_tokens"]


def _matches(call: tuple, record: dict) -> bool:
    """Whether a stored attempt is what the client makes of the server's record of it."""
    outcome, status, step = call[3], call[4], record["step"]
    if outcome == "timeout":  # a hang, or any reply that came after the client gave up
        return True
    if step["kind"] == "hang":
        return False
    if step["kind"] == "drop":
        return outcome == "connection"
    if step["kind"] == "status":
        return (
            outcome == "http_error"
            and status == step["status"] == record["status"]
            and (step.get("fault") != "429" or record["status"] == 429)
        )
    return record["status"] == 200 and outcome in ("ok", "invalid")


def _pair(attempts: list[tuple], served: list[dict]) -> list[tuple[tuple, dict | None]] | None:
    """Each stored attempt with the server's record of it (None: the server never read it).

    Both lists are in order (attempts at one body are sequential); an attempt may go
    unrecorded only if the client stored it as a timeout or a dropped connection.
    None if no such pairing exists.
    """
    if not attempts:
        return [] if not served else None
    first, rest = attempts[0], attempts[1:]
    if served and _matches(first, served[0]):
        paired = _pair(rest, served[1:])
        if paired is not None:
            return [(first, served[0]), *paired]
    if first[3] in ("timeout", "connection"):
        paired = _pair(rest, served)
        if paired is not None:
            return [(first, None), *paired]
    return None


def test_fault_injection_1000_papers(tmp_path):
    db = str(tmp_path / "faults.db")
    ingest(db, write_papers(tmp_path / "papers.jsonl", N_PAPERS))
    started = time.monotonic()
    with FakeServerProcess(fault_rates=FAULTS, seed=7, hang_s=5.0, fault_retry_after_s=2.0) as fs:
        settings = get_settings(
            base_url=fs.base_url,
            api_key="sk-test-faults",
            timeout_s=TIMEOUT_S,
            max_retries=MAX_RETRIES,
            max_reasks=MAX_REASKS,
        )
        from annotator.db import open_db

        summary = annotate(open_db(db), settings, AnnotateOptions(model="fake-model", concurrency=32, use_cache=False))
        records = fs.chat_requests()
        stats = fs.stats()
    elapsed = time.monotonic() - started

    # every kind of fault was really served
    applied = stats["applied"]
    for kind in FAULTS:
        assert applied.get(kind, 0) > 0, f"fault {kind} never happened: {applied}"

    # every paper ends judged or failed, failures with a stored reason
    states = Counter(s for (s,) in fetch(db, "SELECT state FROM tasks"))
    assert sum(states.values()) == N_PAPERS
    assert set(states) <= {"done", "failed"}, states
    assert states["done"] == summary.done and states["failed"] == summary.failed
    assert states["failed"] > 0 and states["done"] > 0.9 * N_PAPERS, states
    for (err,) in fetch(db, "SELECT last_error FROM tasks WHERE state = 'failed'"):
        assert err and ("invalid reply" in err or "attempts" in err), err
    judged = fetch(db, "SELECT task_id FROM judgments")
    done = fetch(db, "SELECT id FROM tasks WHERE state = 'done'")
    assert sorted(judged) == sorted(done)

    # every stored judgment is valid, and is the last valid reply the model sent
    calls = fetch(
        db,
        "SELECT id, task_id, request_hash, outcome, status_code, attempt, reask, "
        "prompt_tokens, completion_tokens, response_text, error FROM llm_calls "
        "ORDER BY id",
    )
    by_task = defaultdict(list)
    for c in calls:
        by_task[c[1]].append(c)
    for task_id, ai, nov, rationale, p_tok, c_tok in fetch(
        db, "SELECT task_id, ai_score, novelty, rationale, prompt_tokens, completion_tokens FROM judgments"
    ):
        j = JudgmentReply.model_validate({"ai_score": ai, "novelty": nov, "rationale": rationale})
        assert isinstance(ai, int) and isinstance(nov, int) and rationale.strip()
        last_ok = [c for c in by_task[task_id] if c[3] == "ok"]
        assert len(last_ok) == 1 and by_task[task_id][-1] == last_ok[0]
        assert parse_reply(last_ok[0][9]) == j
        # the judgment's tokens are the sum over every attempt that led to it
        assert p_tok == sum(c[7] for c in by_task[task_id])
        assert c_tok == sum(c[8] for c in by_task[task_id])

    # retries and re-asks stay within bounds
    for task_id, rows in by_task.items():
        per_request = Counter(c[6] for c in rows)
        assert max(c[6] for c in rows) <= MAX_REASKS
        assert all(n <= MAX_RETRIES for n in per_request.values()), (task_id, per_request)
        assert all(c[5] <= MAX_RETRIES for c in rows)
        assert len(rows) <= MAX_RETRIES * (MAX_REASKS + 1)

    # every attempt is stored: pair client attempts with server records, per request body.
    # A client that gives up (timeout at TIMEOUT_S) may close the connection before the
    # server has read the request; aiohttp then cancels the handler before it records
    # anything. So the server's records, per body, are the client's attempts less some
    # that the client stored as timeouts or dropped connections: nothing else may be
    # missing, and the server recorded nothing the client did not store.
    server_by_hash = defaultdict(list)
    for r in records:
        server_by_hash[request_hash(r["body"])].append(r)
    client_by_hash = defaultdict(list)
    for c in calls:
        client_by_hash[c[2]].append(c)
    assert set(server_by_hash) <= set(client_by_hash)
    spurious = unseen = 0
    server_tokens = [0, 0]
    for h, attempts in client_by_hash.items():
        pairs = _pair(attempts, server_by_hash.get(h, []))
        assert pairs is not None, (attempts, server_by_hash.get(h))
        for c, r in pairs:
            if r is None:
                unseen += 1  # the server never read this request: nothing was received
                assert (c[7], c[8]) == (0, 0)
                continue
            if c[3] == "timeout" and r["step"]["kind"] != "hang":
                spurious += 1  # the reply came later than the client timeout; nothing received
                continue
            if c[3] in ("ok", "invalid"):
                assert (c[7], c[8]) == _server_usage(r), (c, r)
                server_tokens[0] += c[7]
                server_tokens[1] += c[8]
            else:
                assert (c[7], c[8]) == (0, 0)
    assert len(calls) == len(records) + unseen
    assert spurious <= 0.02 * len(calls), f"{spurious} timeouts on replies that were not hangs"
    total = fetch(db, "SELECT SUM(prompt_tokens), SUM(completion_tokens) FROM llm_calls")[0]
    assert list(total) == server_tokens
    assert summary.prompt_tokens == server_tokens[0]
    assert summary.completion_tokens == server_tokens[1]
    assert summary.calls == len(calls)

    # refusals and truncations are recorded as such
    notes = [c[10] or "" for c in calls if c[3] == "invalid"]
    assert any("refused" in n for n in notes) and any("truncated" in n for n in notes)
    print(
        json.dumps(
            {
                "papers": N_PAPERS,
                "states": dict(states),
                "calls": len(calls),
                "spurious_timeouts": spurious,
                "unseen_by_server": unseen,
                "seconds": round(elapsed, 1),
                "faults": applied,
            }
        )
    )
