"""Run settings of the scoring service: registry, ledger, keys and limits.

Built lazily by :func:`get_serving_settings` from the environment (prefix ``EWS_``) and an
optional JSON settings file (``EWS_SERVING_SETTINGS``, default ``$EWS_HOME/serving.json``); an
environment variable wins over the file. Importing this module does no work.

Authentication is on unless switched off explicitly (``EWS_AUTH_DISABLED=true`` or
``"auth_disabled": true`` in the file): a service started with no keys and auth on refuses every
scoring call with 401, never silently opens.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from features.io import validation_problems
from features.settings import Settings
from models.names import MODEL_NAME

#: Most borrowers one request may carry (a monthly book goes through ``score-portfolio``).
MAX_BATCH = 1000


class SettingsError(ValueError):
    """The serving settings cannot be used; the message names the setting."""


class ServingSettings(Settings):
    """Where the service finds its model and ledger (the shared :class:`Settings`), and who
    may call it. The environment (``EWS_*``) wins over the settings file."""

    model_config = SettingsConfigDict(env_prefix="EWS_", frozen=True, extra="forbid")

    model_name: str = MODEL_NAME
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    auth_disabled: bool = False
    pseudonym_key: SecretStr | None = Field(None, description="Hex; default a key file.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)  # the file's values come in as init values

    @field_validator("api_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """``EWS_API_KEYS=key1,key2``; a file gives a list."""
        if isinstance(value, str):
            return tuple(k.strip() for k in value.split(",") if k.strip())
        return value

    @field_validator("auth_disabled", mode="before")
    @classmethod
    def _explicit_switch(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lower() not in {"true", "false", "1", "0"}:
                raise ValueError(f"EWS_AUTH_DISABLED must be true or false, got {value!r}")
            return value.lower() in {"true", "1"}
        return value

    @field_validator("pseudonym_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("model_name", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return MODEL_NAME if value == "" else value

    def key_values(self) -> frozenset[str]:
        """The accepted API keys, in clear (compare only; never log)."""
        return frozenset(k.get_secret_value() for k in self.api_keys)


def load_serving_settings(file: Path | None = None) -> ServingSettings:
    """Settings from the file (if it exists) overridden by the environment."""
    home = Settings().home
    path = file or Path(os.environ.get("EWS_SERVING_SETTINGS", home / "serving.json"))
    values: dict[str, object] = {}
    if path.exists():
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SettingsError(f"serving settings {path} unreadable: {exc}") from None
        if not isinstance(values, dict):
            raise SettingsError(f"serving settings {path} must hold a JSON object")
    try:
        return ServingSettings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(f"serving settings invalid: {validation_problems(exc)}") from None


@lru_cache(maxsize=1)
def get_serving_settings() -> ServingSettings:
    """The process's settings, read once."""
    return load_serving_settings()
