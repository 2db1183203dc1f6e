"""The offline market-data sources: a deterministic random walk folded into minute candles, and CSV
files of candles with errors that name the line and the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import InvalidInput
from domain.market import Candle
from domain.values import Symbol
from infrastructure.adapters import PAPER_MARKETS
from infrastructure.market_sources import CsvReplay, RandomWalk, read_candles_csv

BTC, ETH = Symbol("BTC", "USDT"), Symbol("ETH", "USDT")
START = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _walk(seed: int) -> list[list[Candle]]:
    walk = RandomWalk({BTC: Decimal(60_000), ETH: Decimal(3_000)}, PAPER_MARKETS, seed=seed)
    return [walk.tick(START + timedelta(seconds=15 * n)) for n in range(12)]


def test_the_same_seed_walks_the_same_path_and_another_seed_does_not() -> None:
    assert _walk(7) == _walk(7)
    assert _walk(7) != _walk(8)


def test_ticks_fold_into_one_candle_per_minute_on_the_price_tick() -> None:
    ticks = _walk(1)
    btc = [candles[0] for candles in ticks]
    assert {c.opened_at for c in btc} == {START + timedelta(minutes=m) for m in range(3)}
    first_minute = [c for c in btc if c.opened_at == START]
    last = first_minute[-1]
    closes = [c.close for c in first_minute]
    assert (last.open, last.high, last.low, last.close) == (closes[0], max(closes), min(closes), closes[-1])
    assert all(c.close == c.close.quantize(Decimal("0.01")) for c in btc)


def test_a_csv_file_replays_at_its_speed(tmp_path: Path) -> None:
    path = tmp_path / "candles.csv"
    path.write_text(
        "symbol,opened_at,open,high,low,close,volume\n"
        "BTC/USDT,2026-01-01T00:00:00,100,110,90,105,3\n"
        "BTC/USDT,2026-01-01T00:01:00+00:00,105,106,101,102,1.5\n"
        "BTC/USDT,2026-01-01T00:02:00Z,102,102,99,100,2\n"
    )
    candles = list(read_candles_csv(path))
    assert candles[1].close == Decimal("102") and candles[0].opened_at.tzinfo is not None
    replay = CsvReplay(candles, START, speed=60)
    assert [c.close for c in replay.tick(START)] == [Decimal("105")]
    assert [c.close for c in replay.tick(START + timedelta(seconds=2))] == [Decimal("102"), Decimal("100")]
    assert replay.tick(START + timedelta(seconds=10)) == []


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ("BTC-USDT,2026-01-01T00:00:00,1,1,1,1,1", "symbol: must look like BASE/QUOTE"),
        ("BTC/USDT,yesterday,1,1,1,1,1", "opened_at: must be an ISO 8601 time"),
        ("BTC/USDT,2026-01-01T00:00:00,1,1,2,1,1", "candle: a candle's low and high must bound"),
        ("BTC/USDT,2026-01-01T00:00:00,1,1,1,x,1", "close: must be a decimal number"),
        ("BTC/USDT,2026-01-01T00:00:00,1,1,1,1,", "volume: is missing"),
        ("BTC/USDT,2026-01-01T00:00:30,1,1,1,1,1", "candle: a candle opens on a whole minute"),
    ],
)
def test_a_bad_csv_row_names_its_line(tmp_path: Path, row: str, rule: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "symbol,opened_at,open,high,low,close,volume\nBTC/USDT,2026-01-01T00:00:00,1,1,1,1,1\n" + row
    )
    with pytest.raises(InvalidInput) as raised:
        list(read_candles_csv(path))
    assert raised.value.field == "bad.csv line 3" and raised.value.rule.startswith(rule)
