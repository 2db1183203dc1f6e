"""Which process does a piece of work: one holder at a time, released when its process dies.
PostgreSQL session advisory locks; on the embedded default, file locks beside the SQLite file; for
work whose state lives in this process's memory, no lock at all."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text

from infrastructure.read_store.schemas import mapped_schema
from infrastructure.settings import Settings

LOCK_CLASS = 0x7462  # "tb": the first half of every tbot advisory lock key


class AdvisoryLocks:
    """Session-level advisory locks on one dedicated connection: when the process dies, PostgreSQL
    closes the session and the locks are free for another worker."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._schema = mapped_schema(engine.get_execution_options())

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def try_acquire(self, name: str) -> bool:
        row = self._connection().execute(
            text("SELECT pg_try_advisory_lock(:cls, hashtext(:key))"),
            {"cls": LOCK_CLASS, "key": self.key(name)},
        )
        return bool(row.scalar())

    def key(self, name: str) -> str:
        return f"{self._schema}:{name}"

    def check(self) -> bool:
        if self._conn is None:
            return True
        try:
            self._conn.execute(text("SELECT 1"))
            return True
        except Exception:
            self._conn.invalidate()
            self._conn = None
            return False

    def release_all(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock_all()"))
            finally:
                self._conn.close()
                self._conn = None


def advisory_holders(conn: Connection, names: list[str]) -> dict[str, int]:
    """The process id of the PostgreSQL session holding each projection's lock."""
    schema = mapped_schema(conn.get_execution_options())
    holders: dict[str, int] = {}
    for name in names:
        pid = conn.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :cls AND objid = hashtext(:key)::oid AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"cls": LOCK_CLASS, "key": f"{schema}:{name}"},
        ).scalar()
        if pid is not None:
            holders[name] = int(pid)
    return holders


class FileLocks:
    """flock(2) on one file per projection: released by the kernel when the process dies."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self._directory = directory
        self._prefix = prefix
        self._files: dict[str, IO[bytes]] = {}

    def path(self, name: str) -> Path:
        return self._directory / f"{self._prefix}.{name}.lock"

    def try_acquire(self, name: str) -> bool:
        if name in self._files:
            return True
        handle = open(self.path(name), "a+b")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._files[name] = handle
        return True

    def check(self) -> bool:
        return True

    def release_all(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()


class LocalLocks:
    """For a projection whose model lives in this process's memory: no other process can write
    it, so there is nothing to contend for."""

    def try_acquire(self, name: str) -> bool:
        return True

    def check(self) -> bool:
        return True

    def release_all(self) -> None:
        pass


def open_ownership(settings: Settings, engine: Engine) -> AdvisoryLocks | FileLocks:
    """The locks the processes on these stores share."""
    if settings.store.backend == "postgres":
        return AdvisoryLocks(engine)
    path = settings.store.read_sqlite_path
    return FileLocks(path.parent, path.name)
