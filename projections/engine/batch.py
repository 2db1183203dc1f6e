"""One transaction's worth of writes to one projection's tables: the rows its events need are read
in bulk first, the handlers change them in memory, and they are written in bulk at the end."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Table, select, tuple_

from projections.engine.row_cache import RowCache
from projections.ports import Partitioner, RowWriters


class Batch:
    """The ``Rows`` handlers see (projections.models.base). With a RowCache, keyed rows are left
    to the cache to write."""

    def __init__(
        self,
        conn: Connection,
        tables: Mapping[str, Table],
        partitions: Partitioner,
        writers: RowWriters,
        cache: RowCache | None = None,
    ) -> None:
        self.conn = conn
        self.tables = tables
        self._partitions = partitions
        self._writers = writers
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
        writer = self._writers(self.conn)
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
