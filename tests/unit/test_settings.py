"""Settings choose the event store: PostgreSQL when configured, SQLite otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from infrastructure.settings import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "TBOT_DATABASE_URL",
        "POSTGRES_HOST",
        "POSTGRES_PASSWORD",
        "POSTGRES_SCHEMA",
    ):
        monkeypatch.delenv(name, raising=False)


def test_nothing_set_means_the_embedded_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TBOT_SQLITE_PATH", str(tmp_path / "x" / "e.db"))
    settings = Settings()
    env = settings.store.eventsourcing_env(create_table=False)
    assert settings.store.backend == "sqlite"
    assert env == {
        "CREATE_TABLE": "n",
        "GROUP_COMMIT": "y",
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(tmp_path / "x" / "e.db"),
        "AGGREGATE_CACHE_MAXSIZE": "10000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "y",
    }


def test_the_aggregate_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TBOT_AGGREGATE_CACHE_SIZE", "0")
    assert "AGGREGATE_CACHE_MAXSIZE" not in Settings().store.eventsourcing_env(create_table=False)


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """What compose passes for an optional `${VAR:-}` that is not set."""
    for name in ("TBOT_SIGNALS_LLM_URL", "TBOT_NOTIFY_SMTP_HOST", "TBOT_CREDENTIALS_KEY", "TBOT_API_PORT"):
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert (settings.signals.llm_url, settings.notify.smtp_host, settings.exchange.credentials_key) == (
        None,
        None,
        None,
    )
    assert settings.api.port == 8000


def test_database_url_selects_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:s3cret@db.internal:6543/trading")
    settings = Settings()
    env = settings.store.eventsourcing_env(create_table=True)
    assert settings.store.backend == "postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_USER"]) == ("db.internal", "6543", "u")
    assert (env["POSTGRES_PASSWORD"], env["POSTGRES_DBNAME"], env["CREATE_TABLE"]) == (
        "s3cret",
        "trading",
        "y",
    )
    assert "s3cret" not in repr(settings)


def test_postgres_settings_without_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_HOST", "10.0.0.5")
    monkeypatch.setenv("POSTGRES_PASSWORD", "pw")
    monkeypatch.setenv("POSTGRES_SCHEMA", "trading")
    env = Settings().store.eventsourcing_env(create_table=False)
    assert (env["PERSISTENCE_MODULE"], env["POSTGRES_HOST"], env["POSTGRES_SCHEMA"]) == (
        "eventsourcing.postgres",
        "10.0.0.5",
        "trading",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("DATABASE_URL", "mysql://x@y/z"), ("POSTGRES_PORT", "0"), ("POSTGRES_SCHEMA", "Robert'); DROP")],
)
def test_bad_settings_are_refused_by_name(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        Settings()
    assert name in str(error.value)
