"""The SQLAlchemy engine of the read models: PostgreSQL (the event store's database and schema) or
the embedded default's second SQLite file, or (a backtest's) an in-memory SQLite database."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from infrastructure.settings import CONNECT_TIMEOUT_SECONDS, Settings


def create_read_engine(settings: Settings, schema: str | None = None) -> Engine:
    """Tables are defined without a schema; the engine maps them into ``schema`` (default: the
    event store's schema) with SQLAlchemy's schema_translate_map."""
    url = settings.store.read_database_url()
    if settings.store.backend == "sqlite":
        settings.store.read_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, pool_size=5)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(
        url,
        pool_size=5,
        max_overflow=5,
        pool_pre_ping=True,
        pool_timeout=CONNECT_TIMEOUT_SECONDS,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    return engine.execution_options(schema_translate_map={None: schema or settings.store.postgres_schema})


def create_memory_read_engine() -> Engine:
    """The read models in one in-memory SQLite database, for a process that has them to itself and
    throws them away at its end (a backtest): one connection, shared by every use (StaticPool), with
    the file's transaction handling; no file, no write-ahead log."""
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def create_async_read_engine(settings: Settings) -> AsyncEngine:
    """The query API's engine on the same read models: asyncpg on PostgreSQL, aiosqlite on the
    embedded default."""
    url = settings.store.read_database_url()
    if settings.store.backend == "sqlite":
        engine = create_async_engine(url.set(drivername="sqlite+aiosqlite"), connect_args={"timeout": 30})
        return engine
    engine = create_async_engine(
        url.set(drivername="postgresql+asyncpg"),
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        pool_timeout=CONNECT_TIMEOUT_SECONDS,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
    )
    return engine.execution_options(schema_translate_map={None: settings.store.postgres_schema})


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Transactions are begun explicitly (below), so the driver must not begin its own.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    dbapi_connection.execute("PRAGMA busy_timeout=30000")


def _sqlite_begin(connection: Any) -> None:
    """Writers ask for ``sqlite_begin="IMMEDIATE"`` to take the write lock at the start of their
    transaction (as SELECT ... FOR UPDATE would); readers begin deferred and never block."""
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")
