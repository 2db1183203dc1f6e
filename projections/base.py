"""What every SQL projection is: tables of its own, a handler per event type it turns into rows,
an explicit list of the event types it passes over, and batches written in one transaction."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from sqlalchemy import Connection, MetaData, Table, select, tuple_

from projections.bulk import row_writer
from projections.envelope import Envelope
from projections.errors import ProjectionStopped
from projections.row_cache import RowCache
from projections.timeseries import Partitions

Handler = Callable[[Any, "Batch", Envelope], None]
F = TypeVar("F", bound=Callable[..., None])


def handles(*event_types: type) -> Callable[[F], F]:
    """Marks a projection method as the handler of these event types (and their subclasses)."""

    def mark(method: F) -> F:
        method._handles = event_types  # type: ignore[attr-defined]
        return method

    return mark


class Batch:
    """One transaction's worth of writes to one projection's tables, loaded and written in bulk.
    With a RowCache, keyed rows are left to the cache to write."""

    def __init__(
        self,
        conn: Connection,
        tables: Mapping[str, Table],
        partitions: Partitions,
        cache: RowCache | None = None,
    ) -> None:
        self.conn = conn
        self.tables = tables
        self._partitions = partitions
        self._cache = cache
        self._rows: dict[str, dict[Any, dict[str, Any]]] = (
            {name: cache.rows(table) for name, table in tables.items()} if cache is not None else {}
        )
        self._dirty: dict[str, set[Any]] = {}
        self._appended: dict[str, list[dict[str, Any]]] = {}

    def preload(self, name: str, keys: Iterable[Any]) -> None:
        """Reads the existing rows of these primary keys once, so handlers work in memory."""
        table = self.tables[name]
        loaded = self._rows.setdefault(name, {})
        wanted = [key for key in set(keys) if key not in loaded]
        key_columns = list(table.primary_key.columns)
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            if len(key_columns) == 1:
                condition = key_columns[0].in_(chunk)
            else:
                condition = tuple_(*key_columns).in_(chunk)
            for row in self.conn.execute(select(table).where(condition)).mappings():
                key = self._key(table, row)
                loaded[key] = dict(row)
                if self._cache is not None:
                    self._cache.loaded(table, key)

    def row(self, name: str, key: Any) -> dict[str, Any] | None:
        """A row loaded by ``preload`` or put in this batch; None if there is none."""
        return self._rows.get(name, {}).get(key)

    def put(self, name: str, key: Any, row: dict[str, Any]) -> None:
        self._rows.setdefault(name, {})[key] = row
        if self._cache is not None:
            self._cache.changed(self.tables[name], key)  # written when it leaves the cache
        else:
            self._dirty.setdefault(name, set()).add(key)

    def append(self, name: str, row: dict[str, Any]) -> None:
        self._appended.setdefault(name, []).append(row)

    def flush(self, time_columns: Mapping[str, str]) -> None:
        writer = row_writer(self.conn)
        for name, rows in self._appended.items():
            table = self.tables[name]
            if name in time_columns:
                self._partitions.ensure(self.conn, table, [row[time_columns[name]] for row in rows])
            writer.insert(table, rows)
        for name, keys in self._dirty.items():
            writer.upsert(self.tables[name], [self._rows[name][key] for key in keys])

    @staticmethod
    def _key(table: Table, row: Any) -> Any:
        names = [column.name for column in table.primary_key.columns]
        return row[names[0]] if len(names) == 1 else tuple(row[name] for name in names)


class Projection(ABC):
    """A read model. ``define`` builds its tables for one generation (the name suffix); the public
    ones are queried through views named without the suffix."""

    name: ClassVar[str]
    public: ClassVar[tuple[str, ...]]
    time_columns: ClassVar[Mapping[str, str]] = {}
    ignores: ClassVar[frozenset[type]]
    _handlers: ClassVar[dict[type, Handler]]
    _resolved: ClassVar[dict[type, Handler | None]]  # handler_for's answers, per event type

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = {}
        cls._resolved = {}
        for attribute in vars(cls).values():
            for event_type in getattr(attribute, "_handles", ()):
                cls._handlers[event_type] = attribute

    @staticmethod
    @abstractmethod
    def define(metadata: MetaData, suffix: str) -> dict[str, Table]:
        """This projection's tables, named ``<name><suffix>``."""

    @abstractmethod
    def preload(self, batch: Batch, envelopes: Sequence[Envelope]) -> None:
        """Reads, in bulk, the rows the handlers will need for these events."""

    def handler_for(self, event_type: type) -> Handler | None:
        """The handler of this event type; None if it is ignored on purpose."""
        try:
            return self._resolved[event_type]
        except KeyError:
            pass
        for cls in event_type.__mro__:
            if cls in self._handlers or cls in self.ignores:
                self._resolved[event_type] = self._handlers.get(cls)
                return self._resolved[event_type]
        raise LookupError("neither handled nor ignored by this projection")

    def apply(self, batch: Batch, envelopes: Sequence[Envelope]) -> None:
        """Applies events in order; any event it cannot apply stops it with the event named."""
        plan: list[tuple[Handler, Envelope]] = []
        for envelope in envelopes:
            try:
                handler = self.handler_for(type(envelope.event))
            except LookupError as error:
                raise ProjectionStopped(
                    self.name, envelope.position, envelope.type_name, str(error)
                ) from None
            if handler is not None:
                plan.append((handler, envelope))
        self.preload(batch, [envelope for _, envelope in plan])
        for handler, envelope in plan:
            try:
                handler(self, batch, envelope)
            except Exception as error:
                reason = f"{type(error).__name__}: {error}"
                raise ProjectionStopped(self.name, envelope.position, envelope.type_name, reason) from error
        batch.flush(self.time_columns)


def stamp(row: dict[str, Any], envelope: Envelope) -> dict[str, Any]:
    """Marks a keyed row as last changed by this event."""
    row["updated_at"] = envelope.at
    row["version"] = envelope.version
    row["event_position"] = envelope.position
    return row
