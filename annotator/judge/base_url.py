"""A base URL as the openai client can use it: credentials in the URL made into request parts.

Gateways take a key in the URL (``https://user:KEY@host/v1``, ``.../v1?api-key=KEY``).
The openai package cannot send either as written: it appends each route to the
URL's raw path, so a query string swallows the route (``?api-key=KEYchat/completions``),
and the aiohttp transport refuses user-info next to the SDK's own Authorization
header. ``client_options`` splits the URL instead:

- the query's parameters become ``default_query``, sent with every request;
- the user-info becomes an ``Authorization: Basic`` header (what httpx and curl
  make of it), which takes the place of the Bearer ``OPENAI_API_KEY``;
- what is left (scheme, host, port, path) is the ``base_url``.

Only the judging clients use this; what is stored or shown goes through
``annotator.redact`` instead.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit


def client_options(base_url: str | None) -> dict[str, Any]:
    """``base_url``, and when the URL carries them ``default_query`` and ``default_headers``,
    for ``openai.OpenAI``/``AsyncOpenAI``."""
    if not base_url:
        return {"base_url": base_url}
    parts = urlsplit(base_url)
    options: dict[str, Any] = {}
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
        options["default_headers"] = {"Authorization": f"Basic {token}"}
    if parts.query:
        options["default_query"] = dict(parse_qsl(parts.query, keep_blank_values=True))
    options["base_url"] = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return options
