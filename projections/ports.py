"""The storage the read side needs, as ports: what the models and the engine ask of the read
database, the event store and the live store, and nothing of how. The adapters are in
infrastructure/read_store/ (and infrastructure/candles.py); they satisfy these protocols by their
shape, without importing them (infrastructure never imports projections). Which adapter serves a
port is chosen where tbot is assembled (interfaces/composition.py), by the type of the store
or the settings, never by probing an object for attributes.

- ``RowWriter`` / ``RowWriters``: rows in bulk (COPY on PostgreSQL, executemany on SQLite).
- ``TimeSeries`` / ``TimeSeriesDetector`` and ``Partitioner``: how time-series tables are laid
  out (TimescaleDB hypertables, monthly range partitions, plain tables) and bucketed.
- ``StorePartitions``: the stored events of one partition of the aggregates (PostgreSQL's event
  store only: a rebuild split across processes).
- ``Wakeup``: a worker's wait for new events (PostgreSQL's LISTEN, or polling alone).
- ``LiveStore`` / ``GenerationalLiveStore`` and ``FeedWindow``: where the live model is kept (Redis,
  or this process's memory). Out of reach, a live store raises ``ConnectionError`` or
  ``TimeoutError`` (both ``OSError``), never a driver's own exception.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.persistence import Notification
from sqlalchemy import Connection, Table
from sqlalchemy.sql.elements import ColumnElement

# -- the read database -------------------------------------------------------------------------


class RowWriter(Protocol):
    def insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Rows whose keys are new (or that have no key)."""
        ...

    def upsert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Rows that may already exist: they replace the stored ones."""
        ...


RowWriters = Callable[[Connection], RowWriter]
"""The row writer for a connection, in that connection's transaction."""


class Partitioner(Protocol):
    """Creates, on demand, the partitions a time-series table needs for rows at some times (a
    no-op where there are none), and remembers those made in transactions that committed."""

    def ensure(self, conn: Connection, table: Table, times: list[datetime]) -> None: ...

    def committed(self) -> None: ...

    def rolled_back(self) -> None: ...


class TimeSeries(Protocol):
    """How this read database keeps time-series tables."""

    @property
    def kind(self) -> str:
        """What status and `tbot db init` show: ``timescaledb``, ``postgresql range partitions``
        or ``sqlite``."""
        ...

    def prepare(self, table: Table, time_column: str) -> None:
        """Adjusts a time-series table's definition before it is created."""
        ...

    def after_create(self, conn: Connection, table: Table, time_column: str) -> None:
        """What the table needs once created (a hypertable is made of it)."""
        ...

    def partitions(self) -> Partitioner:
        """A new tracker of the partitions made by one writer."""
        ...

    def bucket(self, width: str, column: Any) -> ColumnElement[Any]:
        """The start of the ``width`` bucket (1m, 1h, 1d) holding ``column``."""
        ...

    def __hash__(self) -> int:
        """Hashable: a table laid out for this backend is made once and kept."""
        ...


TimeSeriesDetector = Callable[[Connection], TimeSeries]
"""How the database behind a connection keeps time series (TimescaleDB is installed if available)."""


# -- the event store ---------------------------------------------------------------------------


class StorePartitions(Protocol):
    def notifications(self, after: int, limit: int, upto: int, index: int, count: int) -> list[Notification]:
        """Up to ``limit`` stored events after position ``after`` and not after ``upto``, in order,
        of the aggregates in partition ``index`` of ``count`` (split by aggregate id)."""
        ...


class Wakeup(Protocol):
    """Wakes a waiting worker when events are committed; where nothing can tell it, the wait
    simply times out (which is also the fallback for a lost notification)."""

    @property
    def listening(self) -> bool:
        """Whether commits are announced at all (or the worker only polls)."""
        ...

    def wait(self, timeout: float) -> bool:
        """Waits for a notification; False when the wait timed out instead."""
        ...

    def poke(self) -> None:
        """Ends the current wait (a worker being stopped)."""
        ...

    def close(self) -> None: ...


# -- the live store ----------------------------------------------------------------------------


class LiveChanges(Protocol):
    """Everything one batch of the live model changes, written atomically with its position."""

    @property
    def position(self) -> int: ...

    @property
    def feed(self) -> list[dict[str, str]]: ...

    @property
    def directory(self) -> dict[str, str]: ...

    @property
    def positions(self) -> dict[str, dict[str, str]]: ...

    @property
    def pnl(self) -> dict[str, dict[str, str]]: ...


class FeedWindow(Protocol):
    """One consistent look at the live feed: its entries after some position, the live model's
    position, and the floor: every entry after the floor is still in the feed (older ones may
    have been trimmed)."""

    @property
    def floor(self) -> int: ...

    @property
    def position(self) -> int: ...

    @property
    def entries(self) -> list[dict[str, str]]: ...


class LiveStore(Protocol):
    """Where the hot read model lives (Redis, or memory in the embedded default)."""

    @property
    def kind(self) -> str:
        """What status shows as its backend: ``redis`` or ``in-process``."""
        ...

    @property
    def generation(self) -> int: ...

    def bound(self) -> LiveStore:
        """This store fixed to the generation current now (one lookup instead of one per key)."""
        ...

    def position(self) -> int: ...

    def directory(self, aggregate_ids: Sequence[str]) -> dict[str, str]: ...

    def positions(self, bot_ids: Sequence[str]) -> dict[str, dict[str, str]]: ...

    def commit(self, expected: int, update: LiveChanges, max_feed_length: int) -> bool:
        """Applies the update if the position is still ``expected``; False (and nothing applied)
        if another writer moved it."""
        ...

    def feed_window(self, after: int, limit: int) -> FeedWindow:
        """Up to ``limit`` feed entries after ``after``, with the floor and position read at once."""
        ...

    def wait_for_feed(self, after: int, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds for a feed entry after ``after``; whether one came."""
        ...

    def bot_pnl(self, bot_id: str) -> dict[str, str]: ...

    def error(self) -> str | None:
        """Why the live projection last failed, until a batch applies again (``commit`` clears it)."""
        ...

    def record_error(self, message: str | None) -> None:
        """Keeps why the live projection failed (None clears it), where status and health read it."""
        ...


class GenerationalLiveStore(LiveStore, Protocol):
    """A live store that keeps generations side by side, so a rebuild can fill a new one and swap
    it in (Redis; the in-process store is rebuilt whenever its process starts instead)."""

    def for_generation(self, generation: int) -> GenerationalLiveStore: ...

    def bound(self) -> GenerationalLiveStore: ...

    def reset(self) -> None:
        """Deletes this generation's keys."""
        ...

    def swap_to(self, generation: int) -> None: ...
