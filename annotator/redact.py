"""Secrets out of URLs before they are shown, stored or exported.

A database URL and a model endpoint's base URL can both carry credentials:
``postgresql://user:PASS@host/db``, libpq's ``?password=PASS``,
``https://user:KEY@gateway/v1`` or ``?api-key=KEY``. ``redact_url`` replaces
each such value by ``***`` and keeps everything else as it was written (scheme,
user name, host, port, path, the other parameters, their order), so the result
still says which server and database were meant.

Choices:

- The user-info's password is masked, the user name kept (it names the role,
  not the credential).
- Query parameters (and ``key=value`` pairs in the fragment, where OAuth puts
  ``access_token``) are masked by name, case-insensitively, after
  percent-decoding the name; ``SECRET_PARAMS`` lists them.
- The URL is split by RFC 3986 (the authority ends at the first ``/``, ``?`` or
  ``#``) on the raw text, not parsed and re-built, so nothing else is re-encoded.
- Strings without ``://`` (a SQLite path) and None come back unchanged.

This module imports nothing from the project, so every layer can use it.
"""

from __future__ import annotations

import re
from typing import overload
from urllib.parse import unquote

MASK = "***"
SECRET_PARAMS = frozenset(
    {
        "password",
        "sslpassword",
        "passwd",
        "pwd",
        "api-key",
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "auth_token",
        "sig",
        "signature",
        "secret",
        "client_secret",
    }
)

_URL = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<authority>[^/?#]*)(?P<rest>.*)", re.S)


def _is_secret(name: str) -> bool:
    return unquote(name).strip().lower() in SECRET_PARAMS


def _pairs(text: str, found: list[str]) -> str:
    """``a=1&password=x`` -> ``a=1&password=***``; the secret values go into ``found``."""
    parts = re.split(r"([&;])", text)
    for i in range(0, len(parts), 2):
        name, eq, value = parts[i].partition("=")
        if eq and _is_secret(name):
            found.append(unquote(value))
            parts[i] = f"{name}={MASK}"
    return "".join(parts)


def _split(url: str) -> tuple[str, list[str]]:
    """The redacted URL and the secret values it held."""
    found: list[str] = []
    match = _URL.fullmatch(url)
    if match is None:
        return url, found
    authority, rest = match["authority"], match["rest"]
    if "@" in authority:
        userinfo, _, host = authority.rpartition("@")
        if ":" in userinfo:
            user, _, password = userinfo.partition(":")
            found.append(unquote(password))
            authority = f"{user}:{MASK}@{host}"
    rest, hash_, fragment = rest.partition("#")
    path, qmark, query = rest.partition("?")
    if qmark:
        query = _pairs(query, found)
    if hash_ and "=" in fragment:
        fragment = _pairs(fragment, found)
    return f"{match['head']}{authority}{path}{qmark}{query}{hash_}{fragment}", found


@overload
def redact_url(url: str) -> str: ...
@overload
def redact_url(url: None) -> None: ...
def redact_url(url: str | None) -> str | None:
    """``url`` with its password and secret parameters replaced by ``***`` (see the module)."""
    if not url:
        return url
    return _split(url)[0]


def url_secrets(url: str | None) -> list[str]:
    """The secret values ``url`` carries (empty values left out), in the order written."""
    if not url:
        return []
    return [s for s in _split(url)[1] if s]


def is_redacted(url: str | None) -> bool:
    """True when ``url`` had its secrets masked by ``redact_url``: it cannot be used to connect."""
    return bool(url) and MASK in _split(url or "")[1]
