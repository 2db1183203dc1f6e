"""A running bot's performance at the largest period the API takes: 200,000 one-minute points
(139 days) of a bot with 20,000 fills in one symbol, valued at 200,000 candles.

Printed: the time to read the inputs from the read database (SQLite, the embedded default: the
fills, the candle of each step, the denials), to build the equity curve (domain/equity.py), to
measure it (domain/performance.py), and the whole of application.bot_performance; beside the
machine's own floor measured in the same run: one Decimal multiply-add per point in the same
decimal context, the least any curve of this many points costs.

Usage: python -m tests.benchmarks.bench_bot_performance [--points 200000] [--fills 20000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from pathlib import Path
from uuid import uuid4

from application.bot_performance import bot_performance
from domain.equity import Mark, Period, equity_curve, from_start
from domain.market import Candle
from domain.performance import CONTEXT, Fill, measure
from domain.values import Side, Symbol
from infrastructure.candles import CandleStore
from infrastructure.settings import Settings, StoreSettings
from interfaces.composition import Container
from projections.performance_queries import performance_inputs

BTC = Symbol("BTC", "USDT")
START = datetime(2025, 1, 1, tzinfo=UTC)


def market(points: int, fills: int) -> tuple[list[Candle], list[Fill]]:
    walk = random.Random(1)
    candles, price = [], 42_000.0
    for n in range(points):
        close = round(price * (1 + walk.gauss(0, 0.0008)), 2)
        value = Decimal(f"{close:.2f}")
        candles.append(Candle(BTC, START + timedelta(minutes=n), value, value, value, value, Decimal(1)))
        price = close
    chosen = sorted(walk.sample(range(points), fills))
    trades = [
        Fill(
            START + timedelta(minutes=n, seconds=30),
            BTC,
            Side.BUY if k % 2 == 0 else Side.SELL,
            Decimal("0.01"),
            candles[n].close,
            Decimal("0.42"),
        )
        for k, n in enumerate(chosen)
    ]
    return candles, trades


def floor(points: int) -> float:
    """Seconds for one Decimal multiply-add per point, in the curve's decimal context."""
    quantity, price, total = Decimal("0.01"), Decimal("42000.12"), Decimal(10_000)
    began = time.perf_counter()
    with localcontext(CONTEXT):
        for _ in range(points):
            total += quantity * price
    return time.perf_counter() - began


def read_inputs(candles: list[Candle], fills: list[Fill], period: Period) -> float:
    """Seconds to read what the measurement takes from a SQLite read database holding them."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        settings = Settings(
            store=StoreSettings(sqlite_path=folder / "e.db", read_sqlite_path=folder / "r.db")
        )
        container = Container()
        container.settings.override(settings)
        read_models = container.read_models()
        read_models.install()
        store = CandleStore(container.read_engine())
        store.install()
        store.write(candles)
        bot_id = uuid4()
        rows = [
            {
                "at": f.time,
                "order_id": uuid4(),
                "trade_id": str(n),
                "bot_id": bot_id,
                "symbol": str(f.symbol),
                "side": f.side.value,
                "quantity": f.quantity,
                "price": f.price,
                "fee": f.fee,
                "fee_currency": "USDT",
                "fee_quote": f.fee,
                "late": False,
                "event_position": n + 1,
            }
            for n, f in enumerate(fills)
        ]
        table = read_models.tables(read_models.projections["fills"], 1)["fills"]  # under the view
        with read_models.write() as conn:
            conn.execute(table.insert(), rows)
        began = time.perf_counter()
        with read_models.engine.connect() as conn:
            inputs = performance_inputs(conn, read_models.backend, bot_id, period)
        seconds = time.perf_counter() - began
        assert len(inputs.fills) == len(fills) and len(inputs.marks[BTC]) == len(candles)
        container.read_engine().dispose()
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--fills", type=int, default=20_000)
    args = parser.parse_args()
    candles, fills = market(args.points - 1, args.fills)
    closes = {BTC: [Mark(c.opened_at + timedelta(minutes=1), c.close) for c in candles]}
    period = Period.of(closes[BTC][0].time - timedelta(minutes=1), closes[BTC][-1].time, "1m")
    assert period.point_count() == args.points

    print(f"{args.points:,} points of 1m, {args.fills:,} fills, {len(candles):,} candles")
    print("| stage | seconds |")
    print("|---|---:|")
    print(f"| read the inputs (SQLite read database) | {read_inputs(candles, fills, period):.2f} |")
    began = time.perf_counter()
    curve = equity_curve(Decimal(10_000), fills, period.times(), closes)
    print(f"| equity curve | {time.perf_counter() - began:.2f} |")
    _, in_period = from_start(fills, period.start)
    began = time.perf_counter()
    measure(curve.points, in_period, exposed=curve.exposed, periods_per_year=period.periods_per_year)
    print(f"| measure | {time.perf_counter() - began:.2f} |")
    began = time.perf_counter()
    bot_performance(Decimal(10_000), period, fills, closes, 0)
    print(f"| application.bot_performance, all of it | {time.perf_counter() - began:.2f} |")
    print(f"| floor: one Decimal multiply-add per point | {floor(args.points):.2f} |")


if __name__ == "__main__":
    main()
