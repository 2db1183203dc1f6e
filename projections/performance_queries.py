"""What a running bot's performance is measured from, read from the read models (never the event
store): its fills, its denied orders, and the closes of the candles of what it traded, one per
step (the last candle that closed in each) and the last one before the period."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Select, and_, func, select

from domain.equity import STEPS, Mark, Period
from domain.performance import Fill
from domain.values import Side, Symbol
from infrastructure.market_tables import candles_table
from projections.ports import TimeSeries
from projections.queries import DECISIONS, FILLS

MINUTE = timedelta(minutes=1)


def fills_before(bot_id: UUID, end: datetime) -> Select[Any]:
    """A bot's fills before ``end``, oldest first (fees valued in the quote currency)."""
    columns = (FILLS.c.at, FILLS.c.symbol, FILLS.c.side, FILLS.c.quantity, FILLS.c.price, FILLS.c.fee_quote)
    query = select(*columns).where(FILLS.c.bot_id == bot_id, FILLS.c.at < end)
    return query.order_by(FILLS.c.at, FILLS.c.event_position)


def denials_between(bot_id: UUID, start: datetime, end: datetime) -> Select[Any]:
    """How many orders of the bot the risk rules denied from ``start`` (inclusive) to ``end``."""
    return select(func.count()).where(
        DECISIONS.c.bot_id == bot_id,
        DECISIONS.c.decision == "denied",
        DECISIONS.c.at >= start,
        DECISIONS.c.at < end,
    )


def step_closes(backend: TimeSeries, symbols: Sequence[str], period: Period) -> Select[Any]:
    """Per symbol and step, the last candle that closed after ``period.start`` and by
    ``period.end``: its open time and close, oldest first. Each one-minute candle is its own
    step's last; longer steps are grouped with time_bucket, date_bin or strftime."""
    table = candles_table(backend)
    within = (
        table.c.symbol.in_(list(symbols)),
        table.c.opened_at > period.start - MINUTE,
        table.c.opened_at <= period.end - MINUTE,
    )
    columns = (table.c.symbol, table.c.opened_at, table.c.close)
    if STEPS[period.step] == MINUTE:
        return select(*columns).where(*within).order_by(table.c.symbol, table.c.opened_at)
    last = (
        select(table.c.symbol, func.max(table.c.opened_at).label("last"))
        .where(*within)
        .group_by(table.c.symbol, backend.bucket(period.step, table.c.opened_at))
        .subquery()
    )
    joined = and_(table.c.symbol == last.c.symbol, table.c.opened_at == last.c.last)
    return select(*columns).join(last, joined).order_by(table.c.symbol, table.c.opened_at)


def close_before(backend: TimeSeries, symbol: str, moment: datetime) -> Select[Any]:
    """The last candle of ``symbol`` that closed by ``moment``: its open time and close."""
    table = candles_table(backend)
    query = select(table.c.symbol, table.c.opened_at, table.c.close)
    query = query.where(table.c.symbol == symbol, table.c.opened_at <= moment - MINUTE)
    return query.order_by(table.c.opened_at.desc()).limit(1)


@dataclass(frozen=True)
class PerformanceInputs:
    fills: list[Fill]  # before the period's end, oldest first
    marks: dict[Symbol, list[Mark]]  # the closes of each symbol traded, at the candles' closes
    denials: int  # in the period


def performance_inputs(
    conn: Connection, backend: TimeSeries, bot_id: UUID, period: Period
) -> PerformanceInputs:
    """Everything ``application.bot_performance`` measures a bot's period from."""
    symbols: dict[str, Symbol] = {}  # each symbol parsed once, not once a row

    def symbol(text: str) -> Symbol:
        found = symbols.get(text)
        if found is None:
            found = symbols[text] = Symbol.parse(text)
        return found

    fills = [
        Fill(row.at, symbol(row.symbol), Side(row.side), row.quantity, row.price, row.fee_quote)
        for row in conn.execute(fills_before(bot_id, period.end))
    ]
    traded = sorted(symbols)
    marks: dict[Symbol, list[Mark]] = {symbols[text]: [] for text in traded}
    for text in traded:
        for row in conn.execute(close_before(backend, text, period.start)):
            marks[symbols[text]].append(Mark(row.opened_at + MINUTE, row.close))
    if traded:
        for row in conn.execute(step_closes(backend, traded, period)):
            marks[symbols[row.symbol]].append(Mark(row.opened_at + MINUTE, row.close))
    denials = int(conn.execute(denials_between(bot_id, period.start, period.end)).scalar_one())
    return PerformanceInputs(fills, marks, denials)
