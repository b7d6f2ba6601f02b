"""Feed settings from the environment (``ANNOTATOR_FEED_*``); command-line options override them.

arXiv asks API clients for one request every three seconds, so that is the
default interval; tests and the replay benchmark set it to 0.
"""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

ARXIV_API_URL = "https://export.arxiv.org/api/query"
OPENALEX_API_URL = "https://api.openalex.org"


class FeedSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANNOTATOR_FEED_", extra="ignore")

    arxiv_url: str = ARXIV_API_URL
    arxiv_interval_s: float = 3.0  # seconds between two arXiv requests
    arxiv_page_size: int = 100
    arxiv_empty_retries: int = 3  # an empty page before the reported total: asked again
    openalex_url: str = OPENALEX_API_URL
    openalex_rps: float = 8.0
    openalex_page_size: int = 200
    mailto: str | None = None  # OpenAlex's polite pool
    store_entries: int = 1000  # fetched entries stored together (then the cursor moves)
    max_attempts: int = 5  # per request, on 429, 5xx and dropped connections
    max_wait_s: float = 120.0  # a longer Retry-After is cut to this
    timeout_s: float = 60.0
    lease_s: float = 600.0  # a run's lock lapses this long after its last heartbeat


def feed_settings(**overrides: Any) -> FeedSettings:
    """Settings from the environment with ``overrides`` (None means "not given") on top."""
    unknown = set(overrides) - set(FeedSettings.model_fields)
    if unknown:
        raise TypeError(f"unknown feed settings: {', '.join(sorted(unknown))}")
    return FeedSettings(**{k: v for k, v in overrides.items() if v is not None})
