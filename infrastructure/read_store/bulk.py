"""Writes a batch's rows in bulk (the read side's ``RowWriter`` port, projections/ports.py). On
PostgreSQL new rows go in with COPY, and changed rows are COPied into a session-private staging
table, then merged with one INSERT .. ON CONFLICT DO UPDATE. SQLite, which has no COPY, gets the
same effect from executemany."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Connection, Table, insert

from infrastructure.read_store.schemas import schema_of
from infrastructure.upserts import upsert


def row_writer(conn: Connection) -> CopyWriter | StatementWriter:
    """The writer for this connection's database, in its transaction."""
    return CopyWriter(conn) if conn.dialect.name == "postgresql" else StatementWriter(conn)


class StatementWriter:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        self.conn.execute(insert(table), list(rows))

    def upsert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        upsert(self.conn, table, rows)


class CopyWriter:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.schema = schema_of(conn) or "public"
        self.cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        self._copy(sql.Identifier(self.schema, table.name), table, rows)

    def upsert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        stage = self._stage(table)
        self._copy(stage, table, rows)
        columns = [column.name for column in table.columns]
        keys = [column.name for column in table.primary_key.columns]
        self.cursor.execute(
            sql.SQL(
                "INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage} "
                "ON CONFLICT ({keys}) DO UPDATE SET {updates}"
            ).format(
                target=sql.Identifier(self.schema, table.name),
                columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
                stage=stage,
                keys=sql.SQL(", ").join(map(sql.Identifier, keys)),
                updates=sql.SQL(", ").join(
                    sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns if c not in keys
                ),
            )
        )
        self.cursor.execute(sql.SQL("DELETE FROM {}").format(stage))

    def _stage(self, table: Table) -> sql.Composable:
        """A temporary table shaped like ``table``, made once per session; its rows never outlive
        the transaction (ON COMMIT DELETE ROWS)."""
        digest = hashlib.blake2s(f"{self.schema}.{table.name}".encode(), digest_size=6).hexdigest()
        stage = sql.Identifier(f"stage_{table.name[:40]}_{digest}")
        self.cursor.execute(
            sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {target}) ON COMMIT DELETE ROWS").format(
                stage=stage, target=sql.Identifier(self.schema, table.name)
            )
        )
        return stage

    def _copy(self, target: sql.Composable, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        columns = [column.name for column in table.columns]
        documents = {c.name for c in table.columns if isinstance(c.type, JSON)}
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            target, sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with self.cursor.copy(statement) as copy:
            if documents:
                for row in rows:
                    copy.write_row(
                        [Jsonb(row[c]) if c in documents and row[c] is not None else row[c] for c in columns]
                    )
            else:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
