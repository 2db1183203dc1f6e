"""The `tbot` CLI: `db init` on both stores, clear errors and exit codes for bad settings."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from dependency_injector import providers

from infrastructure.settings import Settings, StoreSettings
from interfaces.composition import Container
from tests.integration.cli_support import invoke, sqlite_env, tbot


def test_db_init_on_postgres_creates_the_schema_and_tables(postgres_url: str) -> None:
    result = tbot("db", "init", DATABASE_URL=postgres_url, POSTGRES_SCHEMA="cli_init")
    assert result.returncode == 0, result.stderr
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'cli_init'")}
        conn.execute("DROP SCHEMA cli_init CASCADE")
    assert {"tbot_events", "tbot_snapshots"} <= tables


def test_db_init_on_sqlite(tmp_path: Path) -> None:
    result = tbot("db", "init", TBOT_SQLITE_PATH=str(tmp_path / "e.db"))
    assert result.returncode == 0 and "sqlite" in result.stdout
    assert (tmp_path / "e.db").exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [("POSTGRES_PORT", "70000"), ("TBOT_EXECUTION_POLL_SECONDS", "0"), ("TBOT_JWT_SECRET", "too short")],
)
def test_a_bad_setting_exits_2_naming_it(variable: str, value: str) -> None:
    result = tbot("db", "init", **{variable: value})
    assert result.returncode == 2
    assert f"invalid setting {variable}: " in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_store_exits_1_with_the_reason() -> None:
    result = tbot("db", "init", DATABASE_URL="postgresql://u:p@127.0.0.1:1/x")
    assert result.returncode == 1
    assert "cannot reach the postgres event store" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_command_exits_2() -> None:
    assert tbot("frobnicate").returncode == 2


def test_users_create_and_keys_create_make_a_key_that_authenticates(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    assert invoke("db", "init", **env).exit_code == 0
    created = invoke("users", "create", "alice", "--role", "admin", "--password", "long enough secret", **env)
    assert created.exit_code == 0, created.output
    printed = invoke("keys", "create", "alice", **env)
    assert printed.exit_code == 0, printed.output
    container = Container()
    store = StoreSettings(sqlite_path=tmp_path / "e.db", read_sqlite_path=tmp_path / "r.db")  # as sqlite_env
    settings = Settings(store=store)
    container.settings.override(providers.Object(settings))
    caller = container.identity().by_key(printed.stdout.strip())
    container.read_engine().dispose()
    assert caller is not None and (caller.user_id, caller.role) == ("alice", "admin")
