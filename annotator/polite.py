"""Spaced GET requests with bounded retries, for APIs that ask clients to go slowly.

One polite client for every API the project reads (OpenAlex for bibliometrics and
for the feed, arXiv for the feed):

* Spacing: requests at least ``interval_s`` seconds apart (``Spacer``).
* Identity: ``annotator/<version>`` as User-Agent, with ``(mailto:...)`` when given.
* Retries (tenacity): connection errors, timeouts, 429 and 5xx are retried with
  exponential backoff, or after the server's ``Retry-After`` (``http_retry``), each
  wait cut to ``max_wait_s``; ``ANNOTATOR_RETRY_WAIT_SCALE`` scales the waits (0 in
  tests). Other 4xx fail at once with ``FetchError``.

The client returns the raw response (arXiv answers in Atom, OpenAlex in JSON);
``refused`` words the failure for a 4xx and may be overridden by a client that
knows its API better.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from annotator.errors import FetchError
from annotator.http_retry import retry_after
from annotator.redact import redact_url
from annotator.settings import current
from annotator.version import __version__

RETRY_STATUS = {429, 500, 502, 503, 504}


class Spacer:
    """At most ``rps`` requests per second, evenly spaced."""

    def __init__(
        self, rps: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        self.interval = 1.0 / rps if rps and rps > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        if self._next > now:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


class _Again(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PoliteClient:
    """GETs to one API: at most one every ``interval_s`` seconds, retried when it says so."""

    def __init__(
        self,
        name: str,
        *,
        interval_s: float,
        max_attempts: int = 5,
        timeout_s: float = 60.0,
        max_wait_s: float = 120.0,
        transport: httpx.BaseTransport | None = None,
        mailto: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        headers: dict[str, str] | None = None,
    ):
        self.name = name
        self.max_attempts, self.max_wait_s = max_attempts, max_wait_s
        self.wait_scale = current().retry_wait_scale
        self.sleep = sleep
        self.spacer = Spacer(1.0 / interval_s if interval_s > 0 else 0.0, sleep=sleep)
        agent = f"annotator/{__version__}" + (f" (mailto:{mailto})" if mailto else "")
        self.http = httpx.Client(
            timeout=timeout_s, transport=transport, headers={"User-Agent": agent, **(headers or {})}
        )
        self.requests = 0  # HTTP attempts, retries included
        self.retries = 0
        self.waits: list[float] = []  # the back-off waits, before scaling

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def refused(self, response: httpx.Response) -> FetchError:
        """The error for a 4xx answer that retrying will not change."""
        return FetchError(
            f"{self.name} answered HTTP {response.status_code} for "
            f"{redact_url(str(response.request.url))}: {response.text[:200]}"
        )

    def _wait(self, retry_state: Any) -> float:
        exc = retry_state.outcome.exception()
        if isinstance(exc, _Again) and exc.retry_after is not None:
            delay = exc.retry_after
        else:
            delay = 0.5 * 2 ** (retry_state.attempt_number - 1)
        delay = min(self.max_wait_s, delay)
        self.retries += 1
        self.waits.append(delay)
        return delay * self.wait_scale

    def _once(self, url: str, params: dict[str, Any]) -> httpx.Response:
        self.spacer.wait()
        self.requests += 1
        try:
            response = self.http.get(url, params=params)
        except httpx.TransportError as exc:
            raise _Again(f"{exc.__class__.__name__}: {exc}") from exc
        if response.status_code in RETRY_STATUS:
            raise _Again(f"HTTP {response.status_code}", retry_after(response))
        if response.status_code >= 400:
            raise self.refused(response)
        return response

    def get(self, url: str, params: dict[str, Any]) -> httpx.Response:
        """GET ``url`` with ``params``: the response once it is not an error."""
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Again),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(self._once, url, params)
        except _Again as exc:
            raise FetchError(
                f"{self.name} failed after {self.max_attempts} attempts: {exc} ({redact_url(url)})"
            ) from None
