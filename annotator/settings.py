"""Configuration from the environment (and flags, which override it).

pydantic-settings reads ``ANNOTATOR_*`` variables plus the usual
``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``. The API key is a SecretStr so it is
never printed by accident.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANNOTATOR_", extra="ignore", populate_by_name=True)

    base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "ANNOTATOR_BASE_URL")
    )
    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "ANNOTATOR_API_KEY")
    )
    model: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 6  # HTTP attempts per request
    max_reasks: int = 2  # validation failures sent back to the model
    retry_max_wait_s: float = 30.0
    lease_s: float = 120.0
    max_abstract_chars: int = 12_000  # the abstract's budget in the prompt
    # the HTTP library under the openai client: auto | aiohttp | httpx (judge/transport.py)
    http_transport: str = "auto"


def get_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with ``overrides`` (None means "not given") on top."""
    unknown = set(overrides) - set(Settings.model_fields)
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values)


def endpoint_configured(settings: Settings) -> bool:
    """Whether a model endpoint is set: a base URL, or an API key (then OpenAI itself)."""
    return bool(settings.base_url or (settings.api_key and settings.api_key.get_secret_value()))
