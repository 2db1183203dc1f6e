"""Commands on one bot take turns across every process writing to one PostgreSQL event store.

Within a process, commands on a bot already take turns (a lock per bot). Between processes (the API
beside the execution and protection workers) optimistic concurrency alone lets a busy bot's commands
keep invalidating each other: a loser reloads and tries again, and under load one can lose every
attempt. Here the process's holder of a bot's turn also holds a PostgreSQL session advisory lock on
the bot, so writers in different processes queue instead of racing. The lock is for liveness only:
the event store's version check still refuses any write that raced past it, and PostgreSQL frees
the lock when a holder's connection or process dies.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from application.errors import BotBusy
from infrastructure.settings import CONNECT_TIMEOUT_SECONDS, Settings

TURN_LOCK_CLASS = 0x7475  # "tu": the first half of every bot turn's advisory lock key


class PostgresBotTurns:
    """A bot's turn across processes: a session advisory lock keyed by the schema and the bot, held
    on a pooled connection for the length of one command attempt."""

    def __init__(self, engine: Engine, schema: str) -> None:
        self._engine = engine
        self._schema = schema

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def hold(self, bot_id: UUID) -> Iterator[None]:
        key = {"cls": TURN_LOCK_CLASS, "key": f"{self._schema}:{bot_id}"}
        conn = self._locked(bot_id, key)
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:cls, hashtext(:key))"), key)
            except OperationalError:
                conn.invalidate()  # the session is gone, and its lock with it
            conn.close()

    def _locked(self, bot_id: UUID, key: dict[str, object]) -> Connection:
        """A pooled connection holding the turn. Pooled connections are not pinged before use (a
        round trip per command); one that died with its server is found out here, and the turn is
        taken again on a new one."""
        for attempt in (1, 2):
            conn = self._engine.connect()
            try:
                conn.execute(text("SELECT pg_advisory_lock(:cls, hashtext(:key))"), key)
            except OperationalError as error:
                conn.close()
                if getattr(error.orig, "sqlstate", None) == "55P03":  # lock_not_available
                    raise BotBusy(bot_id) from None
                if error.connection_invalidated and attempt == 1:
                    continue
                raise
            return conn
        raise AssertionError("unreachable")  # pragma: no cover


def open_bot_turns(settings: Settings) -> PostgresBotTurns | None:
    """Shared turns on PostgreSQL; None on the embedded default, whose one writer lock already
    serialises the processes' writes."""
    if settings.store.backend != "postgres":
        return None
    size = settings.store.postgres_pool_size
    wait_ms = round(settings.store.bot_turn_wait_seconds * 1000)
    engine = create_engine(
        settings.store.read_database_url(),
        isolation_level="AUTOCOMMIT",
        pool_size=size,
        max_overflow=size,
        pool_timeout=CONNECT_TIMEOUT_SECONDS,
        # a bounded wait for the turn, and for the server
        connect_args={"options": f"-c lock_timeout={wait_ms}", "connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    return PostgresBotTurns(engine, settings.store.postgres_schema)
