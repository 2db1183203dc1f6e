"""Candle files: how long two years of one-minute candles (1,051,200 rows) take to load, checked,
from CSV and from Parquet (decimal128 columns, and string columns), and to write as CSV.

The files are made first from a seeded random walk (BTC-like prices with two decimals, volumes
with five). Each load runs in a fresh process, so one load's memory does not slow the next.
Printed per file: its size, the load's wall and CPU time and the process's peak memory; then the
part of a CSV load that is the Candle's own construction and checks (``Candle.__post_init__``),
measured by making the same number of candles from values already parsed.

Usage: python -m tests.benchmarks.bench_candle_files [--rows 1051200] [--folder DIR]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from domain.market import Candle
from domain.values import Symbol
from infrastructure.candle_files import load_candles, write_candles_csv

BTC = Symbol("BTC", "USDT")
START = datetime(2024, 1, 1, tzinfo=UTC)


def make_files(rows: int, folder: Path) -> dict[str, Path]:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    walk = random.Random(1)
    times: list[datetime] = []
    columns: dict[str, list[str]] = {name: [] for name in ("open", "high", "low", "close", "volume")}
    price = 42_000.0
    for n in range(rows):
        close = round(price * (1 + walk.gauss(0, 0.0008)), 2)
        high = round(max(price, close) * (1 + abs(walk.gauss(0, 0.0003))), 2)
        low = round(min(price, close) * (1 - abs(walk.gauss(0, 0.0003))), 2)
        for name, value in zip(columns, (price, high, low, close), strict=False):
            columns[name].append(f"{value:.2f}")
        columns["volume"].append(f"{walk.uniform(0.5, 80):.5f}")
        times.append(START + timedelta(minutes=n))
        price = close
    paths = {"csv": folder / "two_years.csv"}
    candles = [Candle(BTC, t, *(Decimal(columns[name][n]) for name in columns)) for n, t in enumerate(times)]
    write_candles_csv(paths["csv"], candles)
    del candles
    time_column = pa.array(times, pa.timestamp("ms", tz="UTC"))
    decimals = {n: pa.array([Decimal(v) for v in vs], pa.decimal128(18, 5)) for n, vs in columns.items()}
    paths["parquet decimal128"] = folder / "two_years.parquet"
    pq.write_table(pa.table({"time": time_column, **decimals}), paths["parquet decimal128"])
    paths["parquet strings"] = folder / "two_years_strings.parquet"
    pq.write_table(pa.table({"time": time_column, **columns}), paths["parquet strings"])
    return paths


def load_once(path: Path) -> None:
    """In a process of its own: one load, its figures as one line."""
    wall, cpu = time.perf_counter(), time.process_time()
    history = load_candles(path, BTC)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    status = Path("/proc/self/status").read_text()  # this process's own peak (ru_maxrss counts the parent's)
    peak = int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) // 1024
    print(f"{len(history.candles)} {wall:.2f} {cpu:.2f} {peak}")


def candle_share(rows: int) -> float:
    """Seconds of CPU to make ``rows`` candles from values already parsed."""
    price, volume = Decimal("42000.12"), Decimal("1.23456")
    opened = [START + timedelta(minutes=n) for n in range(rows)]
    began = time.process_time()
    for at in opened:
        Candle(BTC, at, price, price, price, price, volume)
    return time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_051_200)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load_once(args.load)
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        began = time.perf_counter()
        paths = make_files(args.rows, folder)
        print(f"{args.rows:,} one-minute candles made in {time.perf_counter() - began:.1f} s")
        print("| file | size | load (wall) | load (CPU) | peak memory |")
        print("|---|---:|---:|---:|---:|")
        for kind, path in paths.items():
            line = subprocess.run(
                [sys.executable, "-m", "tests.benchmarks.bench_candle_files", "--load", str(path)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            count, wall, cpu, peak = int(line[0]), float(line[1]), float(line[2]), int(line[3])
            assert count == args.rows, (kind, count)
            size = path.stat().st_size / 2**20
            print(f"| {kind} | {size:.0f} MiB | {wall:.2f} s | {cpu:.2f} s | {peak:,} MiB |")
        share = candle_share(args.rows)
        print(f"of which making the Candles (dataclass and __post_init__ checks): {share:.2f} s CPU")
        candles = load_candles(paths["csv"], BTC).candles
        began = time.perf_counter()
        write_candles_csv(folder / "written.csv", candles)
        print(f"write_candles_csv of the same candles: {time.perf_counter() - began:.2f} s")


if __name__ == "__main__":
    main()
