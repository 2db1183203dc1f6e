"""Backtests asked for through the API, in the read database: a bounded queue that workers take
work from (one backtest each, never two workers on one), with each backtest's progress and, once
it is done, its report (or why it failed).

A worker running a backtest beats its heart every few seconds. A running backtest whose heart has
not beaten for ``stale`` seconds belonged to a worker that died: the next ``take`` puts it back in
the queue, up to ``MAX_ATTEMPTS`` runs, then fails it (a backtest that kills its worker must not
kill every worker in turn)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
    select,
    update,
)

from infrastructure.columns import Document, UtcTime
from infrastructure.read_store.schemas import quoted

METADATA = MetaData()
BACKTESTS = Table(
    "backtests",
    METADATA,
    Column("backtest_id", Uuid, primary_key=True),
    Column("owner", String, nullable=False),
    Column("status", String, nullable=False),  # queued, running, done, failed
    Column("request", Document, nullable=False),
    Column("report", Document),
    Column("error", Text),
    Column("done_candles", Integer, nullable=False),
    Column("total_candles", Integer, nullable=False),
    Column("created_at", UtcTime, nullable=False),
    Column("started_at", UtcTime),
    Column("heartbeat_at", UtcTime),
    Column("attempts", Integer, nullable=False),
    Column("finished_at", UtcTime),
    Index("ix_backtests_status_created", "status", "created_at"),
)
WAITING = ("queued", "running")
MAX_ATTEMPTS = 3


class QueueFull(Exception):
    """No room: ``per_user`` says whether the caller's own share is taken (429) or the queue's (503)."""

    def __init__(self, per_user: bool, limit: int) -> None:
        whose = "you have" if per_user else "the server has"
        super().__init__(f"{whose} {limit} backtests queued or running already; try again when one is done")
        self.per_user = per_user


@dataclass(frozen=True)
class QueuedBacktest:
    backtest_id: UUID
    owner: str
    status: str
    request: dict[str, Any]
    report: dict[str, Any] | None
    error: str | None
    done_candles: int
    total_candles: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int


class BacktestQueue:
    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self.now = now

    def install(self) -> None:
        METADATA.create_all(self.engine, checkfirst=True)

    def submit(self, owner: str, request: dict[str, Any], per_user: int, total: int, candles: int) -> UUID:
        """Queues a backtest of ``candles`` candles, or QueueFull when the owner's share or the
        queue is taken. The
        counts and the insert are one transaction that takes the write lock first, so two
        submissions never both take the last place."""
        backtest_id = uuid4()
        with self._writing() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"LOCK TABLE {quoted(conn, BACKTESTS.name)} IN SHARE ROW EXCLUSIVE MODE")
            waiting = BACKTESTS.c.status.in_(WAITING)
            mine = conn.execute(select(func.count()).where(waiting, BACKTESTS.c.owner == owner)).scalar_one()
            if mine >= per_user:
                raise QueueFull(True, per_user)
            if conn.execute(select(func.count()).where(waiting)).scalar_one() >= total:
                raise QueueFull(False, total)
            conn.execute(
                BACKTESTS.insert().values(
                    backtest_id=backtest_id,
                    owner=owner,
                    status="queued",
                    request=request,
                    done_candles=0,
                    total_candles=candles,
                    created_at=self.now(),
                    attempts=0,
                )
            )
        return backtest_id

    def take(self, stale: timedelta) -> QueuedBacktest | None:
        """The oldest queued backtest, now running for the caller alone; None when none waits.
        First, backtests whose worker's heart stopped more than ``stale`` ago go back to the
        queue (or fail, after ``MAX_ATTEMPTS`` runs)."""
        with self._writing() as conn:
            self._recover(conn, self.now() - stale)
            query = select(BACKTESTS).where(BACKTESTS.c.status == "queued").order_by(BACKTESTS.c.created_at)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = conn.execute(query.limit(1)).mappings().first()
            if row is None:
                return None
            started = self.now()
            running = {"status": "running", "started_at": started, "heartbeat_at": started}
            attempts = row["attempts"] + 1
            conn.execute(
                update(BACKTESTS)
                .where(BACKTESTS.c.backtest_id == row["backtest_id"])
                .values(**running, attempts=attempts)
            )
        return _backtest({**row, **running, "attempts": attempts})

    def _recover(self, conn: Connection, beaten_before: datetime) -> None:
        stopped = (BACKTESTS.c.status == "running") & (BACKTESTS.c.heartbeat_at < beaten_before)
        conn.execute(
            update(BACKTESTS)
            .where(stopped, BACKTESTS.c.attempts >= MAX_ATTEMPTS)
            .values(
                status="failed",
                error=f"its worker stopped while running it, {MAX_ATTEMPTS} times",
                finished_at=self.now(),
            )
        )
        conn.execute(update(BACKTESTS).where(stopped).values(status="queued", started_at=None))

    def beat(self, backtest_id: UUID, done: int, total: int) -> None:
        """The worker running it is alive, with ``done`` of ``total`` candles done."""
        self._set(backtest_id, done_candles=done, total_candles=total, heartbeat_at=self.now())

    def finish(self, backtest_id: UUID, report: dict[str, Any], candles: int) -> None:
        self._set(
            backtest_id,
            status="done",
            report=report,
            done_candles=candles,
            total_candles=candles,
            finished_at=self.now(),
        )

    def release(self, backtest_id: UUID) -> None:
        """Its worker is stopping before it is done: back to the queue, the run not counted."""
        self._set(
            backtest_id,
            status="queued",
            started_at=None,
            heartbeat_at=None,
            done_candles=0,
            attempts=BACKTESTS.c.attempts - 1,
        )

    def fail(self, backtest_id: UUID, error: str) -> None:
        self._set(backtest_id, status="failed", error=error, finished_at=self.now())

    def recent(self, owner: str | None, limit: int) -> list[QueuedBacktest]:
        """The newest backtests first, of ``owner`` (None: of everyone), without their reports."""
        query = select(*[column for column in BACKTESTS.c if column.name != "report"])
        if owner is not None:
            query = query.where(BACKTESTS.c.owner == owner)
        query = query.order_by(BACKTESTS.c.created_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_backtest({**row, "report": None}) for row in conn.execute(query).mappings()]

    def get(self, backtest_id: UUID) -> QueuedBacktest | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(BACKTESTS).where(BACKTESTS.c.backtest_id == backtest_id))
                .mappings()
                .first()
            )
        return None if row is None else _backtest(dict(row))

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction that writes after it reads: on SQLite it takes the write lock as it
        begins (as the lock or ``FOR UPDATE`` does on PostgreSQL), so that two cannot both read
        the same state and then both write."""
        with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
            yield conn

    def _set(self, backtest_id: UUID, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(BACKTESTS).where(BACKTESTS.c.backtest_id == backtest_id).values(**values))


def _backtest(row: dict[str, Any]) -> QueuedBacktest:
    return QueuedBacktest(**{name: row[name] for name in QueuedBacktest.__dataclass_fields__})
