"""Embeddings spread over several local server processes: how many start, and (marked
slow, on the real llama.cpp server) that the new settings give the old settings' vectors,
which the shipped head was fitted on."""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import time

import httpx
import numpy as np
import pytest
from _local import TEXTS, needs_local

from annotator.errors import ConfigError
from annotator.judge import local_model
from annotator.judge.embeddings import EmbeddingsClient
from annotator.judge.local_model import MODEL_NAME, REPLICAS_ENV, LocalModelServer


def test_replicas_follow_the_environment(monkeypatch):
    monkeypatch.delenv(REPLICAS_ENV, raising=False)
    cores = len(os.sched_getaffinity(0))
    assert local_model.default_replicas() == min(cores, local_model.MAX_AUTO_REPLICAS)
    monkeypatch.setenv(REPLICAS_ENV, "auto")
    assert local_model.default_replicas() == min(cores, local_model.MAX_AUTO_REPLICAS)
    monkeypatch.setenv(REPLICAS_ENV, "1")
    assert local_model.default_replicas() == 1
    monkeypatch.setenv(REPLICAS_ENV, "3")
    assert local_model.default_replicas() == 3
    assert LocalModelServer(embedding=True).replicas == 3
    assert LocalModelServer(embedding=False).replicas == 1  # chat alone: one process
    monkeypatch.setenv(REPLICAS_ENV, "two")
    with pytest.raises(ConfigError, match=REPLICAS_ENV):
        local_model.default_replicas()


def test_an_endpoint_that_is_not_a_local_server_has_one_url():
    assert local_model.replica_urls("http://example.invalid/v1") == ["http://example.invalid/v1"]
    assert local_model.replica_urls(None) == [None]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.slow
@needs_local
def test_two_processes_give_the_vectors_of_one():
    # old settings: one process computing the vocabulary projection it throws away
    with LocalModelServer(embedding=True, replicas=1, skip_lm_head=False) as old_server:
        old = EmbeddingsClient(MODEL_NAME, base_url=old_server.base_url, batch_size=32)
        before = old.embed(TEXTS)
        assert old.stats.requests == 1
        assert local_model.replica_urls(old_server.base_url) == [old_server.base_url]
    with LocalModelServer(embedding=True, replicas=2) as server:
        urls = server.wait_for_replicas()
        assert len(urls) == 2 and urls[0] == server.base_url, server._extras[0].log_tail()
        extra_port = server._extras[0].port
        new = EmbeddingsClient(MODEL_NAME, base_url=server.base_url, batch_size=32)
        after = new.embed(TEXTS)
        assert new.stats.requests == 5  # 5 texts on 2 processes: one a request, two at a time
        one_by_one = np.vstack([new.embed([t]) for t in TEXTS[::-1]])[::-1]  # 1 text a request
        new.close()
    assert after.shape == before.shape == (len(TEXTS), 576)
    assert cosines(before, after).min() > 0.999
    assert cosines(before, one_by_one).min() > 0.999
    assert cosines(before, before[::-1]).min() < 0.99  # the check can tell texts apart
    # stopped: the replica is gone and no longer listed
    assert local_model.replica_urls(server.base_url) == [server.base_url]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", extra_port)) != 0


def _cpu_seconds(server: LocalModelServer) -> float:
    """User and system CPU time of one server process (Linux /proc)."""
    assert server._proc is not None
    fields = open(f"/proc/{server._proc.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
@needs_local
def test_a_replica_that_joins_during_a_long_call_takes_its_share():
    # start() returns once the first process answers; the second joins a moment later, while
    # this one call (many requests of two texts) is already under way
    texts = [f"{t} (variant {i})" for i in range(8) for t in TEXTS[:3]]
    with LocalModelServer(embedding=True, replicas=2) as server:
        client = EmbeddingsClient(MODEL_NAME, base_url=server.base_url, batch_size=2)
        vectors = client.embed(texts)
        client.close()
        assert len(server.wait_for_replicas()) == 2, server._extras[0].log_tail()
        extra_cpu = _cpu_seconds(server._extras[0])
    assert vectors.shape == (len(texts), 576)
    # loading the model alone costs the second process well under a second of CPU
    assert extra_cpu > 1.0, f"the replica that joined embedded nothing ({extra_cpu:.2f} s of CPU)"


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/models", timeout=1.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
@needs_local
def test_stopping_as_a_replica_comes_up_ends_every_process():
    # The server is stopped the moment its replica first answers: the replica's own start
    # sees it ready a little later, finds the server stopped and stops itself. Before, it
    # did so holding the replicas' lock that stopping takes again: the start thread
    # deadlocked on itself and stop() waited on it for ever (a worker that judged two
    # papers hung at exit).
    server = LocalModelServer(embedding=True, replicas=2).start()
    extra = server._extras[0]
    deadline = time.monotonic() + 60
    while not (extra.port and _answers(extra.base_url)) and time.monotonic() < deadline:
        time.sleep(0.01)
    processes = [p for p in (server._proc, extra._proc) if p is not None]
    stopping = threading.Thread(target=server.stop, daemon=True)
    stopping.start()
    stopping.join(30)
    hung = stopping.is_alive()
    for proc in processes:  # whatever happened, leave no server behind
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not hung, "stop() did not return: the replica's start thread is stuck"
    assert local_model.replica_urls(server.base_url) == [server.base_url]
    assert all(proc.returncode is not None for proc in processes)
