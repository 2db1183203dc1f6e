"""The market data tables of the read database, defined once: `mark_prices` (each symbol's latest
price) and `candles` (one-minute candles, a time series). Their stores write them
(infrastructure/mark_prices.py, infrastructure/candles.py) and the read side's queries read them
(projections/queries.py); this module imports no database driver, so both may use it."""

from __future__ import annotations

from functools import cache
from typing import Protocol

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table

from infrastructure.columns import Money, UtcTime

MARK_PRICES = Table(
    "mark_prices",
    MetaData(),
    Column("symbol", String, primary_key=True),
    Column("price", Money, nullable=False),
    Column("at", UtcTime, nullable=False),
)

CANDLES_TIME_COLUMN = "opened_at"


class TableLayout(Protocol):
    """How a time-series backend lays a table out (one table per backend is cached)."""

    def prepare(self, table: Table, time_column: str) -> None: ...

    def __hash__(self) -> int: ...


@cache
def candles_table(backend: TableLayout) -> Table:
    """The `candles` table as this time-series backend lays it out."""
    table = Table(
        "candles",
        MetaData(),
        Column("symbol", String, nullable=False),
        Column("opened_at", UtcTime, nullable=False),
        Column("open", Money, nullable=False),
        Column("high", Money, nullable=False),
        Column("low", Money, nullable=False),
        Column("close", Money, nullable=False),
        Column("volume", Money, nullable=False),
        PrimaryKeyConstraint("symbol", "opened_at"),
    )
    backend.prepare(table, CANDLES_TIME_COLUMN)
    return table
