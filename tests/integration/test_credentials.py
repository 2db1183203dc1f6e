"""Exchange credentials: sealed at rest, opened only with a configured key and only for the account
they were sealed for, and kept out of everything `tbot accounts` prints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from infrastructure.credentials import (
    ACCOUNTS,
    CredentialStore,
    CredentialsUnavailable,
    ExchangeCredentials,
    new_key,
)
from infrastructure.read_database import create_read_engine
from infrastructure.settings import Settings
from interfaces.cli import app
from interfaces.tables import install_worker_tables

API_KEY, SECRET = "key-0123456789", "secret-abcdefghij"


def _now() -> datetime:
    return datetime(2026, 11, 21, tzinfo=UTC)


def _store(settings: Settings, keys: str | None) -> CredentialStore:
    engine = create_read_engine(settings)
    install_worker_tables(engine)
    return CredentialStore(engine, keys, _now)


def test_credentials_are_sealed_at_rest_and_open_with_any_configured_key(sqlite_settings: Settings) -> None:
    old, new = new_key(), new_key()
    _store(sqlite_settings, old).save(ExchangeCredentials("main", "binance", True, None, API_KEY, SECRET))
    with create_read_engine(sqlite_settings).connect() as conn:
        row = conn.execute(select(ACCOUNTS)).one()
    assert API_KEY not in str(tuple(row)) and SECRET not in str(tuple(row))
    rotated = _store(sqlite_settings, f"{new},{old}")  # a new key first; the old one still opens
    opened = rotated.load("main")
    assert opened is not None and (opened.api_key, opened.secret, opened.sandbox) == (API_KEY, SECRET, True)
    assert API_KEY not in repr(opened) and SECRET not in repr(opened)
    with pytest.raises(CredentialsUnavailable, match="no configured key"):
        _store(sqlite_settings, new).load("main")
    with pytest.raises(CredentialsUnavailable, match="TBOT_CREDENTIALS_KEY is not set"):
        _store(sqlite_settings, None).load("main")


def test_sealed_credentials_moved_to_another_account_do_not_open(sqlite_settings: Settings) -> None:
    key = new_key()
    store = _store(sqlite_settings, key)
    store.save(ExchangeCredentials("alice", "binance", False, None, API_KEY, SECRET))
    store.save(ExchangeCredentials("bob", "binance", False, None, "bob-key", "bob-secret"))
    with store.engine.begin() as conn:
        alice = conn.execute(select(ACCOUNTS.c.sealed).where(ACCOUNTS.c.name == "alice")).scalar_one()
        conn.execute(update(ACCOUNTS).where(ACCOUNTS.c.name == "bob").values(sealed=alice))
    with pytest.raises(CredentialsUnavailable, match="belong to another account"):
        store.load("bob")


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "TBOT_SQLITE_PATH": str(settings.store.sqlite_path),
        "TBOT_READ_SQLITE_PATH": str(settings.store.read_sqlite_path),
        **extra,
    }


def test_accounts_are_added_listed_and_removed_without_showing_credentials(sqlite_settings: Settings) -> None:
    runner = CliRunner()
    env = _env(sqlite_settings, TBOT_CREDENTIALS_KEY=new_key())
    secrets = {"TBOT_EXCHANGE_API_KEY": API_KEY, "TBOT_EXCHANGE_API_SECRET": SECRET}
    added = runner.invoke(
        app, ["accounts", "add", "main", "--exchange", "binance", "--sandbox"], env=env | secrets
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["accounts", "list"], env=env)
    assert listed.exit_code == 0 and "main" in listed.output and "binance" in listed.output
    assert API_KEY not in added.output + listed.output and SECRET not in added.output + listed.output
    again = runner.invoke(app, ["accounts", "add", "main", "--exchange", "binance"], env=env | secrets)
    assert again.exit_code == 2 and "exists already" in again.output
    removed = runner.invoke(app, ["accounts", "remove", "main"], env=env)
    assert removed.exit_code == 0
    assert "main" not in runner.invoke(app, ["accounts", "list"], env=env).output


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (["add", "Main!", "--exchange", "binance"], {}, "name: must be 1-64 lower-case"),
        (["add", "paper-2", "--exchange", "binance"], {}, "the paper exchange's"),
        (["add", "main", "--exchange", "nosuchexchange"], {}, "exchange: 'nosuchexchange' is not"),
        (["add", "main", "--exchange", "binance", "--api-url", "ftp:/x"], {}, "api_url: must be"),
        (["add", "main", "--exchange", "binance"], {"TBOT_CREDENTIALS_KEY": ""}, "TBOT_CREDENTIALS_KEY"),
        (["markets", "nobody"], {}, "'nobody' is not configured"),
        (["remove", "nobody"], {}, "no account 'nobody'"),
    ],
)
def test_bad_input_exits_2_naming_the_field_and_rule(
    sqlite_settings: Settings, args: list[str], extra: dict[str, str], message: str
) -> None:
    env = _env(
        sqlite_settings,
        TBOT_CREDENTIALS_KEY=new_key(),
        TBOT_EXCHANGE_API_KEY="k",
        TBOT_EXCHANGE_API_SECRET="s",
    )
    result = CliRunner().invoke(app, ["accounts", *args], env=env | extra)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
