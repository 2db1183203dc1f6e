"""Candle history from the candles read model, for backtests: one symbol between two times, with
the same report as a file's, and the digest of the CSV file the same candles make."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from domain.market import Candle
from domain.values import Symbol
from infrastructure.candle_files import Gap, load_candles_csv, load_candles_store, write_candles_csv
from infrastructure.candles import CandleStore
from infrastructure.event_store import create_tables
from infrastructure.read_database import create_read_engine
from infrastructure.settings import Settings

BTC, ETH = Symbol("BTC", "USDT"), Symbol("ETH", "USDT")
START = datetime(2026, 3, 31, 23, 50, tzinfo=UTC)  # across a month: two partitions on PostgreSQL


def _candle(symbol: Symbol, minute: int) -> Candle:
    price = Decimal("65000.10") + minute
    return Candle(
        symbol, START + timedelta(minutes=minute), price, price + 1, price - 1, price, Decimal("0.5")
    )


@pytest.fixture
def store(any_settings: Settings) -> Iterator[CandleStore]:
    create_tables(any_settings)  # and the schema, on PostgreSQL
    engine = create_read_engine(any_settings)
    candles = CandleStore(engine)
    candles.install()
    try:
        yield candles
    finally:
        engine.dispose()


def test_the_read_model_gives_a_symbols_candles_between_two_times(store: CandleStore, tmp_path: Path) -> None:
    minutes = [*range(15), *range(18, 30)]  # three minutes missing
    store.write([_candle(BTC, m) for m in minutes] + [_candle(ETH, m) for m in range(30)])
    every = load_candles_store(store, BTC)
    assert every.candles == [_candle(BTC, m) for m in minutes]
    report = every.report
    assert (report.source, report.rows, report.candles) == ("candles table", 27, 27)
    assert (report.gaps, report.missing) == (1, 3)
    assert report.largest_gaps == (Gap(START + timedelta(minutes=14), START + timedelta(minutes=18), 3),)
    # the digest is the one of the CSV file of the same candles
    path = tmp_path / "btc.csv"
    assert write_candles_csv(path, every.candles) == report.sha256
    assert load_candles_csv(path, BTC).report.sha256 == report.sha256

    window = load_candles_store(store, BTC, START + timedelta(minutes=10), START + timedelta(minutes=20))
    assert [c.opened_at.minute for c in window.candles] == [0, 1, 2, 3, 4, 8, 9]
    assert window.report.first == START + timedelta(minutes=10) and window.report.missing == 3
    assert load_candles_store(store, Symbol("SOL", "USDT")).report.candles == 0
