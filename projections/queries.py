"""Reads of the read models through their public views (synchronous; the HTTP query API reads the
same views asynchronously)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, MetaData, Select, Table, func, select

from projections.models.catalog import sql_projections
from projections.ports import TimeSeries


def views() -> dict[str, Table]:
    """Every public view, as a table with its columns and types."""
    metadata, found = MetaData(), {}
    for projection in sql_projections():
        tables = projection.define(metadata, "")
        found.update({name: tables[name] for name in projection.public})
    return found


VIEWS = views()


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(query).mappings()]


def orders_of(conn: Connection, bot_id: UUID) -> list[dict[str, Any]]:
    orders = VIEWS["orders"]
    return _rows(conn, select(orders).where(orders.c.bot_id == bot_id).order_by(orders.c.placed_at))


def positions_of(conn: Connection, bot_id: UUID) -> list[dict[str, Any]]:
    positions = VIEWS["positions"]
    return _rows(conn, select(positions).where(positions.c.bot_id == bot_id).order_by(positions.c.symbol))


def open_position_ids(conn: Connection) -> list[UUID]:
    """Every position that is not flat."""
    positions = VIEWS["positions"]
    query = select(positions.c.position_id).where(positions.c.quantity != 0).order_by(positions.c.position_id)
    return list(conn.execute(query).scalars())


def risk_decisions_of(conn: Connection, bot_id: UUID) -> list[dict[str, Any]]:
    decisions = VIEWS["risk_decisions"]
    query = select(decisions).where(decisions.c.bot_id == bot_id).order_by(decisions.c.event_position)
    return _rows(conn, query)


def pnl_series(
    conn: Connection, backend: TimeSeries, bot_id: UUID, symbol: str, width: str
) -> list[Mapping[str, Any]]:
    """Per bucket: the realized PnL and position after its last fill (time_bucket or date_bin)."""
    return pnl_points(conn.execute(pnl_series_query(backend, bot_id, symbol, width)))


def pnl_series_query(backend: TimeSeries, bot_id: UUID, symbol: str, width: str) -> Select[Any]:
    pnl = VIEWS["pnl"]
    start = backend.bucket(width, pnl.c.at).label("bucket")
    last = (
        select(start, func.max(pnl.c.event_position).label("last"))
        .where(pnl.c.bot_id == bot_id, pnl.c.symbol == symbol)
        .group_by(start)
        .subquery()
    )
    return (
        select(last.c.bucket, pnl.c.quantity, pnl.c.average_price, pnl.c.realized_pnl)
        .join(last, pnl.c.event_position == last.c.last)
        .order_by(last.c.bucket)
    )


def pnl_points(rows: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The rows of ``pnl_series_query`` with exact types (SQLite hands back text)."""
    return [
        {
            "bucket": row.bucket
            if isinstance(row.bucket, datetime)
            else datetime.fromisoformat(f"{row.bucket}+00:00"),
            "quantity": Decimal(row.quantity),
            "average_price": Decimal(row.average_price),
            "realized_pnl": Decimal(row.realized_pnl),
        }
        for row in rows
    ]
