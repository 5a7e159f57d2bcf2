"""Settings are typed, validated at start, and refuse the default secret outside dev mode."""

from __future__ import annotations

import pytest

from ldn_outcomes.errors import ConfigurationError
from ldn_outcomes.settings import load_settings


def test_default_secret_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LDN_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="LDN_SECRET_KEY"):
        load_settings(mode="production")


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LDN_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("LDN_MODE", "production")
    monkeypatch.setenv("LDN_SECRET_KEY", "s3cret-value")
    settings = load_settings()
    assert settings.resolved_database_url == "postgresql://u@h/db"
    assert "s3cret" not in repr(settings)


def test_default_database_is_a_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LDN_DATABASE_URL", raising=False)
    assert load_settings().resolved_database_url.endswith("data/ldn.sqlite3")
