"""The HTTP library under the openai client: aiohttp when the SDK offers it, else httpx.

The openai package sends its requests through an httpx-style client. Since
``openai.DefaultAioHttpClient`` exists, that client can hand the bytes to
aiohttp instead of httpx's own connection pool. With many requests in flight
this is the cheaper path per request (see "The client's own overhead" in
docs/benchmarks.md: a fifth to a third more papers per second at concurrency 32 and 128
with the fake server answering at once, measured side by side), and it changes
nothing the client relies on: timeouts, connection failures and HTTP statuses
arrive as the same ``openai`` exceptions, with the same response headers.

``ANNOTATOR_HTTP_TRANSPORT`` chooses: ``auto`` (aiohttp when the installed
openai package has the client and aiohttp is importable, else httpx),
``aiohttp`` (an error if it cannot be had) or ``httpx``.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import openai

from annotator.errors import ConfigError

TRANSPORTS = ("auto", "aiohttp", "httpx")


def check_transport(name: str) -> str:
    """The setting's value, or a ConfigError naming the choices."""
    if name not in TRANSPORTS:
        raise ConfigError(f"ANNOTATOR_HTTP_TRANSPORT: '{name}' is not one of {', '.join(TRANSPORTS)}")
    return name


def http_client(transport: str, **options: Any) -> tuple[Any, str]:
    """The async HTTP client the openai client is built on (the SDK's defaults plus
    ``options``: limits, timeout, verify) and the name of the library it uses."""
    factory = getattr(openai, "DefaultAioHttpClient", None)
    if check_transport(transport) != "httpx" and factory is not None:
        try:
            return factory(**options), "aiohttp"
        except RuntimeError as exc:  # the SDK's stand-in when its aiohttp layer is missing
            if transport == "aiohttp":
                raise ConfigError(f"ANNOTATOR_HTTP_TRANSPORT=aiohttp: {exc}") from exc
    elif transport == "aiohttp":
        raise ConfigError(
            "ANNOTATOR_HTTP_TRANSPORT=aiohttp: this openai package has no aiohttp "
            "client (openai.DefaultAioHttpClient); use httpx or auto"
        )
    return openai.DefaultAsyncHttpxClient(**options), "httpx"


def timed_out(exc: BaseException) -> bool:
    """Whether an ``openai.APITimeoutError`` was a timeout, not a dropped connection.

    The SDK's aiohttp layer reports every aiohttp connection error as a connect
    timeout, a server closing the socket included; the cause chain still holds
    aiohttp's own exception, which says which it was (its timeouts are
    ``TimeoutError``s).
    """
    cause = exc.__cause__
    for _ in range(8):
        if cause is None or isinstance(cause, TimeoutError):
            return True
        if isinstance(cause, aiohttp.ClientConnectionError):
            return False
        cause = cause.__cause__
    return True
