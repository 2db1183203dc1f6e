"""Which strategy runtime runs which bot. On PostgreSQL, a session advisory lock per bot, held by
the runtime running it and freed by PostgreSQL when that runtime's process or connection dies, so
the others take its bots over at their next look; each runtime also holds a presence lock, so the
runtimes can count themselves and each take a fair share. On the embedded default one process runs
every bot (the worker's own lock keeps a second one standing by)."""

from __future__ import annotations

import math
import uuid
import zlib
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Connection, Engine, text

from infrastructure.read_store.schemas import mapped_schema

BOT_LEASE_CLASS = 0x7473  # "ts": a bot's lease


class AdvisoryLeases:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._schema = mapped_schema(engine.get_execution_options())
        self._runtime = uuid.uuid4().hex
        self._namespace = f"tbot-strategy-runtimes:{self._schema}"
        self._conn: Connection | None = None
        self.held: set[UUID] = set()

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(  # present: keyed by the schema (counted apart from others') and the runtime
                text("SELECT pg_advisory_lock(hashtext(:ns), hashtext(:runtime))"),
                {"ns": self._namespace, "runtime": self._runtime},
            )
            self._conn = conn
        return self._conn

    def claim(self, bots: Sequence[UUID]) -> set[UUID]:
        try:
            conn = self._connection()
            conn.execute(text("SELECT 1"))
        except Exception:
            self._lost()
            raise
        wanted = set(bots)
        for gone in self.held - wanted:
            self._unlock(conn, gone)
        share = math.ceil(len(wanted) / max(1, self._runtimes(conn)))
        for extra in sorted(self.held, key=self._order)[share:]:
            self._unlock(conn, extra)
        for bot in sorted(wanted - self.held, key=self._order):
            if len(self.held) >= share:
                break
            if conn.execute(
                text("SELECT pg_try_advisory_lock(:cls, hashtext(:key))"), self._key(bot)
            ).scalar():
                self.held.add(bot)
        return set(self.held)

    def release_all(self) -> None:
        if self._conn is not None:
            conn, self._conn, self.held = self._conn, None, set()
            try:
                conn.execute(text("SELECT pg_advisory_unlock_all()"))
            finally:
                conn.close()

    def _lost(self) -> None:
        if self._conn is not None:
            self._conn.invalidate()
        self._conn = None
        self.held = set()

    def _unlock(self, conn: Connection, bot: UUID) -> None:
        conn.execute(text("SELECT pg_advisory_unlock(:cls, hashtext(:key))"), self._key(bot))
        self.held.discard(bot)

    def _key(self, bot: UUID) -> dict[str, object]:
        return {"cls": BOT_LEASE_CLASS, "key": f"{self._schema}:{bot}"}

    def _order(self, bot: UUID) -> int:
        """Each runtime tries the bots in an order of its own, so they spread rather than collide."""
        return zlib.crc32(f"{self._runtime}:{bot}".encode())

    def _runtimes(self, conn: Connection) -> int:
        count = conn.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = hashtext(:ns)::oid "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"ns": self._namespace},
        ).scalar()
        return int(count or 1)


class AllLeases:
    """Every bot, for the one runtime of the embedded default."""

    def claim(self, bots: Sequence[UUID]) -> set[UUID]:
        return set(bots)

    def release_all(self) -> None:
        pass
