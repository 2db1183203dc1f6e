"""A backtest over two years of one-minute candles (1,051,200): `sma_cross` (fast 50, slow 200,
half the equity per entry) through the live code, as `tbot backtest run` runs it.

The candles are a seeded random walk written once as Parquet (decimal128 columns) and kept in the
temporary folder for later runs; making them is not timed. Timed, one after the other:

- the load: ``load_candles`` of the Parquet file (every row checked, the SHA-256 taken);
- the backtest: ``run_backtest``, split by its progress calls into the set-up (the container, the
  bot, the screen), the loop over the candles (the event-sourced path wherever an order is), and
  what follows it (the event log read back, the fills and equity curve, the metrics, the world
  torn down), of which ``performance`` (the metrics over the equity curve) is timed again on its
  own;
- the report: ``report`` and its JSON text.

Each part in wall and in CPU time: on a shared machine the wall time counts the others' work.

Printed beside them, measured in the same run, the machine's limit: the same crossover of the
same averages over the closes in numpy (the floor for any backtester in Python), and a pure
Python loop that reads every candle's close once (the floor for anything that looks at every
candle as an object).

Usage: python -m tests.benchmarks.bench_backtest [--rows 1051200] [--folder DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from application.strategies.indicators import sma
from domain.market import Candle
from domain.values import Symbol
from infrastructure.candle_files import load_candles
from infrastructure.logging import configure_logging
from interfaces.backtest.report import ReportInputs, performance, report
from interfaces.backtest.runner import run_backtest
from interfaces.backtest.world import BacktestInputs

BTC = Symbol("BTC", "USDT")
START = datetime(2024, 1, 1, tzinfo=UTC)
SEED = 7
PARAMS: dict[str, Any] = {"fast": 50, "slow": 200, "fraction": "0.5", "capital": "10000"}


def candle_file(rows: int, folder: Path) -> Path:
    """The seeded walk's Parquet file, made on the first run and kept for the next ones."""
    path = folder / f"walk-{SEED}-{rows}.parquet"
    if path.exists():
        return path
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    walk = random.Random(SEED)
    columns: dict[str, list[Decimal]] = {name: [] for name in ("open", "high", "low", "close", "volume")}
    price = 42_000.0
    for _ in range(rows):
        close = round(price * (1 + walk.gauss(0, 0.0008)), 2)
        high = round(max(price, close) * (1 + abs(walk.gauss(0, 0.0003))), 2)
        low = round(min(price, close) * (1 - abs(walk.gauss(0, 0.0003))), 2)
        for name, value in zip(columns, (price, high, low, close), strict=False):
            columns[name].append(Decimal(f"{value:.2f}"))
        columns["volume"].append(Decimal(f"{walk.uniform(0.5, 80):.5f}"))
        price = close
    times = pa.array([START + timedelta(minutes=n) for n in range(rows)], pa.timestamp("ms", tz="UTC"))
    table = pa.table({"time": times, **{n: pa.array(v, pa.decimal128(18, 5)) for n, v in columns.items()}})
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    pq.write_table(table, partial)
    partial.rename(path)
    return path


def numpy_floor(candles: list[Candle]) -> tuple[float, int]:
    """Seconds for the crossover in numpy from the candles (closes to floats, both averages, the
    crossings) and how many crossings up and down it finds."""
    began = time.perf_counter()
    closes = np.array([float(candle.close) for candle in candles])
    fast, slow = sma(closes, PARAMS["fast"]), sma(closes, PARAMS["slow"])
    with np.errstate(invalid="ignore"):
        above = fast > slow
    crossings = int(np.count_nonzero(above[1:] != above[:-1]))
    return time.perf_counter() - began, crossings


def python_floor(candles: list[Candle]) -> float:
    """Seconds for a Python loop that reads each candle's close once."""
    began = time.perf_counter()
    highest = candles[0].close
    for candle in candles:
        highest = max(highest, candle.close)
    return time.perf_counter() - began


def _spent(began: tuple[float, float], ended: tuple[float, float]) -> tuple[float, float]:
    """Wall and CPU seconds from ``began`` to ``ended`` (each a perf_counter, process_time pair):
    on a shared machine the wall time counts the others' work too."""
    return ended[0] - began[0], ended[1] - began[1]


def _less(whole: tuple[float, float], part: tuple[float, float]) -> tuple[float, float]:
    return whole[0] - part[0], whole[1] - part[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_051_200)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "tbot-bench-backtest")
    args = parser.parse_args()
    configure_logging("console", "WARNING")  # as `tbot backtest run`
    making = time.perf_counter()
    path = candle_file(args.rows, args.folder)
    ready = time.perf_counter() - making
    print(f"{args.rows:,} one-minute candles: {path} (ready in {ready:.1f} s, not timed)")

    loading = (time.perf_counter(), time.process_time())
    history = load_candles(path, BTC)
    loaded = _spent(loading, (time.perf_counter(), time.process_time()))
    candles = history.candles
    assert len(candles) == args.rows, len(candles)

    inputs = BacktestInputs(strategy="sma_cross", params=PARAMS, candles={BTC: candles})
    marks: list[tuple[float, float]] = []
    began = (time.perf_counter(), time.process_time())
    done = run_backtest(inputs, lambda count: marks.append((time.perf_counter(), time.process_time())))
    ended = (time.perf_counter(), time.process_time())
    backtest = _spent(began, ended)
    setup, loop, after = _spent(began, marks[0]), _spent(marks[0], marks[-1]), _spent(marks[-1], ended)
    began = (time.perf_counter(), time.process_time())
    performance(done.outcome, candles)
    metrics = _spent(began, (time.perf_counter(), time.process_time()))

    began = (time.perf_counter(), time.process_time())
    costs = (inputs.cash, inputs.fee_rate, inputs.slippage_bps)
    described = ReportInputs("sma_cross", done.params, BTC, history.report, *costs, None)
    document = report(described, done.outcome, done.performance)
    json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    reported = _spent(began, (time.perf_counter(), time.process_time()))

    result = done.outcome
    orders = result.orders
    total = (backtest[0] + reported[0], backtest[1] + reported[1])
    print(
        f"sma_cross fast {PARAMS['fast']} slow {PARAMS['slow']} fraction {PARAMS['fraction']}: "
        f"{result.decisions:,} decisions, {orders:,} orders, {len(result.fills):,} fills, "
        f"{result.denials} denied, {len(result.rejections)} rejected"
    )
    print("| part | wall | CPU |")
    print("|---|---:|---:|")
    print(f"| load the Parquet file (not in the total) | {loaded[0]:.2f} s | {loaded[1]:.2f} s |")
    for part, (wall, cpu) in (
        ("run_backtest: set-up (container, bot, screen)", setup),
        ("run_backtest: the loop over the candles", loop),
        ("run_backtest: after the loop (event log, fills, equity curve, tear-down)", _less(after, metrics)),
        ("run_backtest: performance metrics", metrics),
        ("report and its JSON", reported),
    ):
        print(f"| {part} | {wall:.2f} s | {cpu:.2f} s |")
    print(f"| **total** (run_backtest and report) | **{total[0]:.2f} s** | **{total[1]:.2f} s** |")
    per_candle, per_order = total[1] / args.rows * 1e6, loop[1] / max(orders, 1) * 1e3
    print(
        f"CPU per candle: {per_candle:.2f} µs in all; per order: {per_order:.2f} ms of the loop "
        f"(the loop's time over its {orders:,} orders, the skipped candles included)"
    )
    floor, crossings = numpy_floor(candles)
    limit = "machine's limit, same run:"
    print(f"{limit} numpy crossover from the candles {floor:.2f} s ({crossings:,} crossings)")
    print(f"{limit} a Python loop reading each candle's close {python_floor(candles):.2f} s")


if __name__ == "__main__":
    main()
