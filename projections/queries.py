"""Every query of the read models, built once: SQLAlchemy Core statements over the public views
(and the market data tables), with their filters, the caller's scope and the keysets lists are
ordered by. The HTTP query API runs them on its async connections; the command line, the demo and
the protection worker on synchronous ones. Nothing here opens a connection.

Lists are keyset-ordered: each has the columns it is sorted by (ascending and unique together:
times first, then an id to break their ties), and ``in_order`` continues one after the key of the
last row read, which is how the API pages them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, MetaData, Select, Table, func, literal, select, tuple_

from application.access import Caller
from infrastructure.market_tables import MARK_PRICES, TableLayout, candles_table
from projections.engine.read_models import TRACKING
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
BOTS, ORDERS, FILLS = VIEWS["bots"], VIEWS["orders"], VIEWS["fills"]
POSITIONS, DECISIONS, PNL = VIEWS["positions"], VIEWS["risk_decisions"], VIEWS["pnl"]
STRATEGY_DECISIONS, SIGNALS = VIEWS["strategy_decisions"], VIEWS["signals"]

BOTS_SORT = (BOTS.c.created_at, BOTS.c.bot_id)
ORDERS_SORT = (ORDERS.c.placed_at, ORDERS.c.order_id)
FILLS_SORT = (FILLS.c.event_position,)
DECISIONS_SORT = (DECISIONS.c.event_position,)
STRATEGY_DECISIONS_SORT = (STRATEGY_DECISIONS.c.event_position,)
SIGNALS_SORT = (SIGNALS.c.received_position,)


# -- scope and order ---------------------------------------------------------------------------


def scoped(query: Select[Any], bot_column: Any, caller: Caller | None) -> Select[Any]:
    """Only the rows of the bots this caller may read (application/access.py's rule, as a filter);
    every row for ``None``: a process reading for itself (the demo, the protection worker)."""
    owner = None if caller is None else caller.only_owner
    if owner is None:
        return query
    return query.where(bot_column.in_(select(BOTS.c.bot_id).where(BOTS.c.owner == owner)))


def in_order(query: Select[Any], sort: Sequence[Any], after: Sequence[Any] | None = None) -> Select[Any]:
    """The query in the order of its keyset ``sort``; with ``after`` (the key values of a row),
    only the rows that come after that row (bound with the columns' own types)."""
    if after is not None:
        query = query.where(
            tuple_(*sort) > tuple_(*(literal(v, c.type) for c, v in zip(sort, after, strict=True)))
        )
    return query.order_by(*sort)


# -- who owns what -----------------------------------------------------------------------------


def bot_owner(bot_id: UUID) -> Select[Any]:
    return select(BOTS.c.owner).where(BOTS.c.bot_id == bot_id)


class ReadModelOwners:
    """Who owns a bot as the read models show it: the ``BotOwners`` lookup of
    application/access.py for the queries (the commands look in the aggregate store)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def owner_of(self, bot_id: UUID) -> str | None:
        owner: str | None = self.conn.execute(bot_owner(bot_id)).scalar_one_or_none()
        return owner


# -- the read models ---------------------------------------------------------------------------


def applied_position(names: Sequence[str]) -> Select[Any]:
    """The position every one of these read models has reached (the lowest of theirs)."""
    return select(func.min(TRACKING.c.position)).where(TRACKING.c.name.in_(list(names)))


def bots(caller: Caller | None) -> Select[Any]:
    """The bots; list them ``in_order`` of ``BOTS_SORT``."""
    return scoped(select(BOTS), BOTS.c.bot_id, caller)


def bot(bot_id: UUID) -> Select[Any]:
    return select(BOTS).where(BOTS.c.bot_id == bot_id)


def orders(
    caller: Caller | None,
    *,
    bot_id: UUID | None = None,
    symbol: str | None = None,
    status: str | None = None,
    placed_from: datetime | None = None,
    placed_to: datetime | None = None,
) -> Select[Any]:
    """Orders by bot, symbol, status and placement time (from inclusive, to exclusive); list them
    ``in_order`` of ``ORDERS_SORT``."""
    query = _of_bot(ORDERS, caller, bot_id)
    if symbol is not None:
        query = query.where(ORDERS.c.symbol == symbol)
    if status is not None:
        query = query.where(ORDERS.c.status == status)
    if placed_from is not None:
        query = query.where(ORDERS.c.placed_at >= placed_from)
    if placed_to is not None:
        query = query.where(ORDERS.c.placed_at < placed_to)
    return query


def order(order_id: UUID) -> Select[Any]:
    return select(ORDERS).where(ORDERS.c.order_id == order_id)


def fills_of_order(order_id: UUID) -> Select[Any]:
    return select(FILLS).where(FILLS.c.order_id == order_id).order_by(FILLS.c.event_position)


def fills(caller: Caller | None, *, bot_id: UUID | None = None, symbol: str | None = None) -> Select[Any]:
    """Fills by bot and symbol; list them ``in_order`` of ``FILLS_SORT``."""
    query = _of_bot(FILLS, caller, bot_id)
    if symbol is not None:
        query = query.where(FILLS.c.symbol == symbol)
    return query


def positions(caller: Caller | None, *, bot_id: UUID | None = None) -> Select[Any]:
    """Positions by bot, then symbol."""
    return _of_bot(POSITIONS, caller, bot_id).order_by(POSITIONS.c.bot_id, POSITIONS.c.symbol)


def marked(positions: Select[Any]) -> Select[Any]:
    """These positions with their symbol's mark price and its time (None without one)."""
    with_marks = positions.add_columns(
        MARK_PRICES.c.price.label("mark_price"), MARK_PRICES.c.at.label("marked_at")
    )
    return with_marks.outerjoin(MARK_PRICES, MARK_PRICES.c.symbol == POSITIONS.c.symbol)


def open_positions() -> Select[Any]:
    """Every position that is not flat, by id."""
    query = select(POSITIONS.c.position_id).where(POSITIONS.c.quantity != 0)
    return query.order_by(POSITIONS.c.position_id)


def risk_decisions(
    caller: Caller | None, *, bot_id: UUID | None = None, decision: str | None = None
) -> Select[Any]:
    """Admitted or denied orders by bot; list them ``in_order`` of ``DECISIONS_SORT``."""
    query = _of_bot(DECISIONS, caller, bot_id)
    if decision is not None:
        query = query.where(DECISIONS.c.decision == decision)
    return query


def running_strategy_bots() -> Select[Any]:
    """The running bots whose strategy trades by itself (every strategy but `manual`)."""
    return select(BOTS.c.bot_id).where(BOTS.c.status == "running", BOTS.c.strategy != "manual")


def strategy_decisions(caller: Caller | None, bot_id: UUID, *, acted: bool | None = None) -> Select[Any]:
    """A bot's strategy decisions (``acted``: only those with intents, or only those without);
    list them ``in_order`` of ``STRATEGY_DECISIONS_SORT``."""
    query = _of_bot(STRATEGY_DECISIONS, caller, bot_id)
    if acted is not None:
        count = STRATEGY_DECISIONS.c.intent_count
        query = query.where(count > 0 if acted else count == 0)
    return query


def signals(caller: Caller | None, bot_id: UUID, *, status: str | None = None) -> Select[Any]:
    """A bot's signals (``status``: only those in it); list them ``in_order`` of ``SIGNALS_SORT``."""
    query = _of_bot(SIGNALS, caller, bot_id)
    if status is not None:
        query = query.where(SIGNALS.c.status == status)
    return query


def pnl_series(backend: TimeSeries, bot_id: UUID, symbol: str, width: str) -> Select[Any]:
    """Per bucket: the realized PnL and position after its last fill (time_bucket or date_bin)."""
    start = backend.bucket(width, PNL.c.at).label("bucket")
    last = (
        select(start, func.max(PNL.c.event_position).label("last"))
        .where(PNL.c.bot_id == bot_id, PNL.c.symbol == symbol)
        .group_by(start)
        .subquery()
    )
    return (
        select(last.c.bucket, PNL.c.quantity, PNL.c.average_price, PNL.c.realized_pnl)
        .join(last, PNL.c.event_position == last.c.last)
        .order_by(last.c.bucket)
    )


def pnl_points(rows: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The rows of ``pnl_series`` with exact types (SQLite hands back text)."""
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


def _of_bot(view: Table, caller: Caller | None, bot_id: UUID | None) -> Select[Any]:
    """The rows of a view this caller may read; only one bot's with ``bot_id`` (whether the caller
    may read that bot is the caller's to check first: application.access.check_bot)."""
    query = scoped(select(view), view.c.bot_id, caller)
    return query if bot_id is None else query.where(view.c.bot_id == bot_id)


# -- market data -------------------------------------------------------------------------------


def mark_prices() -> Select[Any]:
    """The latest mark price of each symbol, by symbol."""
    return select(MARK_PRICES).order_by(MARK_PRICES.c.symbol)


def latest_candles(
    layout: TableLayout, symbol: str, start: datetime | None, end: datetime | None, limit: int
) -> Select[Any]:
    """The latest ``limit`` one-minute candles of ``symbol`` from ``start`` (inclusive) to ``end``
    (exclusive), newest first."""
    table = candles_table(layout)
    query = select(table).where(table.c.symbol == symbol)
    if start is not None:
        query = query.where(table.c.opened_at >= start)
    if end is not None:
        query = query.where(table.c.opened_at < end)
    return query.order_by(table.c.opened_at.desc()).limit(limit)


# -- run on a synchronous connection -----------------------------------------------------------


def rows(conn: Connection, query: Select[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(query).mappings()]


def open_position_ids(conn: Connection) -> list[UUID]:
    """Every position that is not flat."""
    return list(conn.execute(open_positions()).scalars())


def pnl_series_points(
    conn: Connection, backend: TimeSeries, bot_id: UUID, symbol: str, width: str
) -> list[Mapping[str, Any]]:
    return pnl_points(conn.execute(pnl_series(backend, bot_id, symbol, width)))
