"""Client-side request and token rate limits (per minute), for asyncio workers.

A limiter spaces requests evenly instead of bursting, so a server that
enforces the same limit over a sliding window never sees it crossed.
"""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    def __init__(self, rpm: float | None = None, tpm: float | None = None):
        self.rpm, self.tpm = rpm, tpm
        self._lock = asyncio.Lock()
        self._next_request = 0.0  # monotonic time the next request may start
        self._tokens = float(tpm or 0)
        self._tokens_at = time.monotonic()

    async def acquire(self, tokens: int = 0) -> None:
        if not self.rpm and not self.tpm:
            return
        async with self._lock:
            now = time.monotonic()
            wait = 0.0
            if self.rpm:
                wait = max(wait, self._next_request - now)
            if self.tpm:
                self._tokens = min(float(self.tpm), self._tokens + (now - self._tokens_at) * self.tpm / 60.0)
                self._tokens_at = now
                need = min(float(tokens), float(self.tpm))
                if self._tokens < need:
                    wait = max(wait, (need - self._tokens) * 60.0 / self.tpm)
            if wait > 0:
                await asyncio.sleep(wait)
            start = time.monotonic()
            if self.rpm:
                self._next_request = max(start, self._next_request) + 60.0 / self.rpm
            if self.tpm:
                self._tokens = min(float(self.tpm), self._tokens + (start - self._tokens_at) * self.tpm / 60.0) - min(
                    float(tokens), float(self.tpm)
                )
                self._tokens_at = start
