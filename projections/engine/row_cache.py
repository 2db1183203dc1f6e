"""A write-behind cache of keyed rows for a process that alone writes a set of tables (a
rebuild's new generation). Handlers find rows in memory instead of reading them back, and a row
changed by many events is written once, when it leaves the cache or the replay ends, instead of
once per batch. Bounded: past ``limit`` rows in a table the older half is written out and
forgotten (and read back if an event needs it again)."""

from __future__ import annotations

from itertools import islice
from typing import Any

from sqlalchemy import Table

from projections.ports import RowWriter


class RowCache:
    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._tables: dict[str, Table] = {}
        self._rows: dict[str, dict[Any, dict[str, Any]]] = {}
        self._dirty: dict[str, set[Any]] = {}
        self._stored: dict[str, set[Any]] = {}  # keys the database already holds

    def rows(self, table: Table) -> dict[Any, dict[str, Any]]:
        """The table's cached rows by key; the caller may add rows read from the database."""
        self._tables.setdefault(table.name, table)
        return self._rows.setdefault(table.name, {})

    def loaded(self, table: Table, key: Any) -> None:
        self._stored.setdefault(table.name, set()).add(key)

    def changed(self, table: Table, key: Any) -> None:
        self._dirty.setdefault(table.name, set()).add(key)

    def trim(self, writer: RowWriter) -> None:
        for name, rows in self._rows.items():
            if len(rows) > self.limit:
                leaving = list(islice(rows, len(rows) - self.limit // 2))
                self._write(writer, name, [key for key in leaving if key in self._dirty.get(name, ())])
                stored = self._stored.get(name, set())
                for key in leaving:
                    del rows[key]
                    stored.discard(key)

    def write_all(self, writer: RowWriter) -> None:
        for name in list(self._dirty):
            self._write(writer, name, list(self._dirty[name]))

    def _write(self, writer: RowWriter, name: str, keys: list[Any]) -> None:
        if not keys:
            return
        table, rows = self._tables[name], self._rows[name]
        stored, dirty = self._stored.setdefault(name, set()), self._dirty[name]
        fresh = [key for key in keys if key not in stored]
        if fresh:
            writer.insert(table, [rows[key] for key in fresh])
        known = [key for key in keys if key in stored]
        if known:
            writer.upsert(table, [rows[key] for key in known])
        stored.update(keys)
        dirty.difference_update(keys)
