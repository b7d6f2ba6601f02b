"""All configuration, from the environment (flags override it): the one ``Settings``.

pydantic-settings reads ``ANNOTATOR_*`` variables plus the usual
``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` and, under GitHub Actions, ``GITHUB_SHA`` and
``GITHUB_STEP_SUMMARY``, and ``XDG_CACHE_HOME`` for the cache folder's default. The
feed's settings are the ``feed`` section, read from ``ANNOTATOR_FEED_<NAME>``. The API
key is a SecretStr so it is never printed by accident.
docs/configuration.md lists every variable.

No other module reads the environment for configuration: ``current()`` gives the
settings of the environment as it is now (built again only when a variable changed),
``get_settings(**flags)`` a fresh copy with flags on top.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from annotator.errors import ConfigError

DEFAULT_DB = "annotator.db"
ARXIV_API_URL = "https://export.arxiv.org/api/query"
OPENALEX_API_URL = "https://api.openalex.org"
_ENV_PREFIXES = ("ANNOTATOR_", "OPENAI_", "GITHUB_", "XDG_CACHE_HOME")  # every variable Settings reads


class FeedSettings(BaseModel):
    """The feed's section (``ANNOTATOR_FEED_<NAME>``); command-line options override it.

    arXiv asks API clients for one request every three seconds, so that is the
    default interval; tests and the replay benchmark set it to 0.
    """

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


class Settings(BaseSettings):
    # "_" splits once: ANNOTATOR_FEED_ARXIV_URL is feed.arxiv_url
    model_config = SettingsConfigDict(
        env_prefix="ANNOTATOR_", extra="ignore", populate_by_name=True, env_nested_delimiter="_", env_nested_max_split=1
    )

    base_url: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "ANNOTATOR_BASE_URL"))
    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "ANNOTATOR_API_KEY")
    )
    model: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 6  # HTTP attempts per request
    max_reasks: int = 2  # validation failures sent back to the model
    retry_max_wait_s: float = 30.0
    retry_wait_scale: float = 1.0  # back-off waits multiplied by this (tests set 0)
    lease_s: float = 120.0
    max_abstract_chars: int = 12_000  # the abstract's budget in the prompt
    # the HTTP library under the openai client: auto | aiohttp | httpx (judge/transport.py)
    http_transport: str = "auto"
    db: str = DEFAULT_DB  # a path (SQLite) or a SQLAlchemy URL; --db overrides it
    prompts: str | None = None  # the prompt folder; --prompts overrides it
    prices: str | None = None  # extra prices: a JSON file, or the JSON itself
    local_replicas: int | None = None  # embedding server processes of the local model; None: one per core
    local_skip_lm_head: bool = True  # the local embedding server leaves out the unused vocabulary projection
    # the weights the local embedding server reads: the packaged Q4_1 file or an F16 copy of it
    local_embedding_weights: Literal["packaged", "f16"] = "f16"
    cache_dir: str | None = None  # converted model weights; None: $XDG_CACHE_HOME/annotator or ~/.cache/annotator
    debug: bool = False  # any value: errors raise with their traceback
    # OpenAlex for `biblio fetch`, `fetch openalex` and `feed run` (their --mailto and
    # --base-url/--openalex-url read these; feed.mailto and feed.openalex_url come after)
    mailto: str | None = None
    openalex_url: str | None = None
    feed: FeedSettings = Field(default_factory=FeedSettings)
    xdg_cache_home: str | None = Field(default=None, validation_alias="XDG_CACHE_HOME")  # under cache_dir's default
    github_sha: str | None = Field(default=None, validation_alias="GITHUB_SHA")
    github_step_summary: str | None = Field(default=None, validation_alias="GITHUB_STEP_SUMMARY")

    @field_validator("debug", mode="before")
    @classmethod
    def _any_value(cls, value: Any) -> Any:
        return bool(value) if isinstance(value, str) else value

    @field_validator("local_replicas", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.strip().lower() in ("", "auto"):
            return None
        try:
            return max(1, int(value))
        except ValueError:
            raise ValueError(f"must be a whole number, not {value!r}") from None


def _build(**values: Any) -> Settings:
    try:
        return Settings(**values)
    except ValidationError as exc:
        bad = "; ".join(f"ANNOTATOR_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings: {bad}") from None


_current: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def current() -> Settings:
    """The settings of the environment as it is now, shared (do not change them): built
    again only when a variable they read changed, so hot paths may ask on every call."""
    global _current
    key = tuple((k, v) for k, v in os.environ.items() if k.upper().startswith(_ENV_PREFIXES))
    cached = _current
    if cached is None or cached[0] != key:
        cached = _current = (key, _build())
    return cached[1]


def get_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with ``overrides`` (None means "not given") on top."""
    unknown = set(overrides) - set(Settings.model_fields)
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
    values = {k: v for k, v in overrides.items() if v is not None}
    return _build(**values)


def feed_settings(**overrides: Any) -> FeedSettings:
    """The ``feed`` section of the settings, with ``overrides`` (None means "not given") on top."""
    unknown = set(overrides) - set(FeedSettings.model_fields)
    if unknown:
        raise TypeError(f"unknown feed settings: {', '.join(sorted(unknown))}")
    values = {k: v for k, v in overrides.items() if v is not None}
    return FeedSettings.model_validate({**current().feed.model_dump(), **values})


def endpoint_configured(settings: Settings) -> bool:
    """Whether a model endpoint is set: a base URL, or an API key (then OpenAI itself)."""
    return bool(settings.base_url or (settings.api_key and settings.api_key.get_secret_value()))
