"""The store of the `candles` table (its definition: infrastructure/market_tables.py): one-minute
candles per symbol from market data (not from events), read by the query API; a time series: a
TimescaleDB hypertable where the extension exists, monthly partitions on plain PostgreSQL, a plain
table on SQLite. A candle written again for the same minute replaces the earlier one (a minute
still open is written on every tick)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, func, inspect, select, text
from sqlalchemy.schema import CreateTable

from domain.market import Candle
from domain.values import Symbol
from infrastructure.market_tables import CANDLES_TIME_COLUMN as TIME_COLUMN
from infrastructure.market_tables import candles_table
from infrastructure.read_store import timeseries
from infrastructure.read_store.schemas import schema_of
from infrastructure.upserts import upsert


def candles_channel(schema: str) -> str:
    """The PostgreSQL channel candle writes NOTIFY (one per schema): who decides on closed
    candles listens to it rather than polling."""
    return f"tbot_candles_{schema}"[:63]


class CandleStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._backend: timeseries.TimeSeriesBackend | None = None
        self._partitions: timeseries.NoPartitions | timeseries.MonthlyPartitions = timeseries.NoPartitions()

    @property
    def table(self) -> Table:
        if self._backend is None:
            with self.engine.begin() as conn:
                self._use(timeseries.detect(conn))
        assert self._backend is not None
        return candles_table(self._backend)

    def _use(self, backend: timeseries.TimeSeriesBackend) -> None:
        self._backend, self._partitions = backend, backend.partitions()

    def install(self) -> timeseries.TimeSeriesBackend:
        with self.engine.begin() as conn:
            backend = timeseries.detect(conn)
            self._use(backend)
            table = candles_table(backend)
            if not inspect(conn).has_table(table.name, schema=schema_of(conn)):
                conn.execute(CreateTable(table))
                backend.after_create(conn, table, TIME_COLUMN)
                for index in table.indexes:
                    index.create(conn, checkfirst=True)
        return backend

    def newest(self, symbols: Sequence[Symbol]) -> dict[Symbol, datetime]:
        """When each symbol's newest candle opened (the minute in progress, while market data
        runs); a symbol without candles is left out."""
        table = self.table
        query = (
            select(table.c.symbol, func.max(table.c.opened_at))
            .where(table.c.symbol.in_([str(s) for s in symbols]))
            .group_by(table.c.symbol)
        )
        with self.engine.connect() as conn:
            return {Symbol.parse(row[0], "symbol"): row[1] for row in conn.execute(query)}

    def window(self, symbol: Symbol, until: datetime, count: int) -> list[Candle]:
        """The last ``count`` candles of ``symbol`` opened before ``until``, oldest first."""
        table = self.table
        query = (
            select(table)
            .where(table.c.symbol == str(symbol), table.c.opened_at < until)
            .order_by(table.c.opened_at.desc())
            .limit(count)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [Candle(symbol, r.opened_at, r.open, r.high, r.low, r.close, r.volume) for r in reversed(rows)]

    def between(
        self, symbol: Symbol, start: datetime | None = None, end: datetime | None = None
    ) -> list[Candle]:
        """The candles of ``symbol`` opened at or after ``start`` and before ``end`` (either open
        when None), oldest first."""
        table = self.table
        query = select(table).where(table.c.symbol == str(symbol)).order_by(table.c.opened_at)
        if start is not None:
            query = query.where(table.c.opened_at >= start)
        if end is not None:
            query = query.where(table.c.opened_at < end)
        with self.engine.connect() as conn:
            rows = conn.execute(query.execution_options(yield_per=10_000))
            return [Candle(symbol, r.opened_at, r.open, r.high, r.low, r.close, r.volume) for r in rows]

    def count(self, symbol: Symbol, start: datetime, end: datetime) -> int:
        """How many candles of ``symbol`` opened at or after ``start`` and before ``end``."""
        table = self.table
        query = select(func.count()).where(
            table.c.symbol == str(symbol), table.c.opened_at >= start, table.c.opened_at < end
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def write(self, candles: Sequence[Candle]) -> None:
        if not candles:
            return
        table = self.table
        latest = {(c.symbol, c.opened_at): c for c in candles}  # one row per minute and symbol
        rows = [_row(c) for c in latest.values()]
        try:
            with self.engine.begin() as conn:
                self._partitions.ensure(conn, table, [c.opened_at for c in latest.values()])
                upsert(conn, table, rows)
                schema = schema_of(conn)
                if schema is not None:  # PostgreSQL: listeners hear of it as the rows commit
                    conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": candles_channel(schema)})
        except Exception:
            self._partitions.rolled_back()
            raise
        self._partitions.committed()


def _row(candle: Candle) -> dict[str, Any]:
    return dict(
        symbol=str(candle.symbol),
        opened_at=candle.opened_at,
        open=candle.open,
        high=candle.high,
        low=candle.low,
        close=candle.close,
        volume=candle.volume,
    )
