"""One typed settings object, read from ``LDN_``-prefixed environment variables.

Only ``cli`` and ``web`` read it; they pass what the library needs explicitly. Nothing here is
built at import time: call :func:`load_settings`.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .default_paths import default_data_dir, default_database_url
from .errors import ConfigurationError

DEFAULT_SECRET = "change-me-dev-only"
__all__ = ["DEFAULT_SECRET", "Settings", "default_data_dir", "load_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LDN_", extra="ignore")

    #: SQLAlchemy URL; default is a SQLite file ``data/ldn.sqlite3`` in the working directory.
    database_url: str | None = None
    #: ``dev`` allows the default secret and extra logging; anything else must set a secret.
    mode: str = Field(default="dev", pattern=r"^(dev|production|test)$")
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    #: Demo mode (``LDN_DEMO=1``, set by ``make run``): the sign-in page lists the demo
    #: accounts and their one published password. Refused in production; without it, that
    #: password is refused at sign-in, so a demo database served for real stays closed.
    demo: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    #: Minimum group size shown to researchers; smaller cells are suppressed.
    min_cell_size: int = Field(default=5, ge=1)
    ncbi_api_key: SecretStr | None = None
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60)
    #: Addresses of reverse proxies whose ``X-Forwarded-For`` is believed (comma-separated,
    #: as uvicorn's ``forwarded_allow_ips``). Default none: the client address is the peer's,
    #: so a client cannot pick the address that sign-in throttling counts against.
    trusted_proxies: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f.:/*, ]+$")

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.mode != "dev" and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise ValueError("LDN_SECRET_KEY must be set outside dev mode")
        if self.demo and self.mode == "production":
            raise ValueError("LDN_DEMO must not be set in production mode")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return default_database_url()


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as error:
        raise ConfigurationError(f"invalid settings: {error}") from None
