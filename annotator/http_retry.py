"""How long a server asks us to wait before trying again (``Retry-After``).

One reading for every HTTP client in the project (the model client, the
bibliometrics fetcher, the feed's readers): ``retry-after-ms`` (OpenAI's
milliseconds), else ``Retry-After`` as seconds or as an HTTP date. Callers cap
the wait themselves.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Protocol


class HasHeaders(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...


def retry_after(response: HasHeaders | None) -> float | None:
    """Seconds to wait, at least 0, or None when the server did not say (or said nonsense)."""
    if response is None:
        return None
    headers = response.headers
    if "retry-after-ms" in headers:
        try:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
