"""Parameter optimisation: trials per minute of `tbot optimize run` on PostgreSQL storage, with one
process and with two processes sharing one study, beside the machine's limit measured in the same
run.

The candles are 30 days of one-minute BTC/USDT candles (43,200, a seeded walk); each trial is a
backtest of `sma_cross` on the in-sample 70 % (30,240 candles). The limit is the backtests alone,
at the same concurrency: the parameters the one-process study tried, backtested again without
Optuna, the command line or the storage, by one process, then by two at once (each all of them).
Each trials-per-minute figure counts the whole command: starting Python, loading the candles, the
storage's round trips, the out-of-sample run of the best. The load average is printed too: on a
machine others share, the two-process figures are what the cores left over allow.

Usage: python -m tests.benchmarks.bench_optimize DATABASE_URL [--trials 4] [--minutes 43200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import optuna
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from domain.values import Symbol
from infrastructure.candle_files import load_candles
from infrastructure.logging import configure_logging
from interfaces.optimize.study import Search
from interfaces.optimize.windows import split
from tests.support.candle_walk import START, write_walk
from tests.support.processes import TBOT

BTC = Symbol("BTC", "USDT")
SPACE = ["fast=int:10:40", "slow=int:60:200:10"]
FIXED = {"fraction": "0.9", "capital": "10000"}


@contextmanager
def optuna_schema(database_url: str) -> Iterator[str]:
    """An Optuna storage URL on a fresh schema, dropped afterwards."""
    schema = f"bench_optuna_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def optimise(candles: Path, storage: str, study: str, trials: int, processes: int, folder: Path) -> float:
    """Seconds until ``processes`` commands of ``trials`` trials each on one study all end."""
    args = ["optimize", "run", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--candles", str(candles)]
    args += [arg for text in SPACE for arg in ("--space", text)]
    args += [arg for name, value in FIXED.items() for arg in ("--param", f"{name}={value}")]
    args += ["--objective", "sharpe", "--trials", str(trials), "--storage", storage, "--study", study]
    began = time.perf_counter()
    running = [
        subprocess.Popen(
            [TBOT, *args, "--seed", str(n + 1), "--out", str(folder / f"{study}-{n}")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    for process in running:
        _, errors = process.communicate()
        assert process.returncode == 0, errors
    return time.perf_counter() - began


def backtests_alone(candles: Path, storage: str, study: str) -> None:
    """In a process of its own: the trials of ``study`` backtested again, as one line: how many,
    and their seconds."""
    configure_logging("console", "WARNING")
    driver = make_url(storage).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    trials = optuna.load_study(study_name=study, storage=driver).get_trials(deepcopy=False)
    history = load_candles(candles, BTC).candles
    fold = split([c.opened_at for c in history], Decimal("0.7"))  # as the command cuts it by default
    train = history[fold.train.start : fold.train.stop]
    costs = (Decimal(10_000), Decimal("0.001"), Decimal(0))
    search = Search("sma_cross", BTC, FIXED, [], "sharpe", [], *costs, None)
    began = time.perf_counter()
    for trial in trials:
        search.backtest(trial.user_attrs["params"], train)
    print(len(trials), time.perf_counter() - began)


def limit(candles: Path, storage: str, study: str, processes: int) -> tuple[float, float]:
    """Backtests per minute with ``processes`` processes each backtesting ``study``'s trials at
    once (over the longest one's backtesting time, its start left out), and the seconds one
    backtest took on average."""
    command = [sys.executable, "-m", "tests.benchmarks.bench_optimize", storage, "--alone", study]
    running = [
        subprocess.Popen([*command, "--candles", str(candles)], stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    lines = [process.communicate()[0].split() for process in running]
    assert all(process.returncode == 0 for process in running)
    count, seconds = sum(int(line[0]) for line in lines), [float(line[1]) for line in lines]
    return count / max(seconds) * 60, sum(seconds) / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--trials", type=int, default=4, help="trials per process")
    parser.add_argument("--minutes", type=int, default=43_200)
    parser.add_argument("--alone", help=argparse.SUPPRESS)
    parser.add_argument("--candles", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.alone:
        backtests_alone(args.candles, args.database_url, args.alone)
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch, optuna_schema(args.database_url) as storage:
        folder = Path(scratch)
        candles = write_walk(folder / "btc.csv", args.minutes)
        walls = {n: optimise(candles, storage, f"bench-{n}", args.trials, n, folder) for n in (1, 2)}
        limits = {n: limit(candles, storage, "bench-1", n) for n in (1, 2)}
    train = split([START + timedelta(minutes=m) for m in range(args.minutes)], Decimal("0.7")).train
    print(f"{args.minutes:,} one-minute candles, in-sample {len(train):,}; {os.cpu_count()} cores")
    print(
        "| processes | trials | wall | trials/min | limit: the backtests alone, as many processes | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for processes, wall in walls.items():
        done = processes * args.trials
        rate, ceiling = done / wall * 60, limits[processes][0]
        print(f"| {processes} | {done} | {wall:.0f} s | {rate:.2f} | {ceiling:.2f} | {rate / ceiling:.2f} |")
    seconds = limits[1][1]
    load = f"{before:.1f} before, {os.getloadavg()[0]:.1f} after"
    print(f"one backtest of the in-sample candles, alone: {seconds:.1f} s on average; load average {load}")


if __name__ == "__main__":
    main()
