"""PlaceOrder commands per second, in process, on PostgreSQL, with 1, 8 and 64 threads, with group
commit and without, printed next to pgbench's single-row-insert tps on the same server with the
same client counts and with 16 clients (same run), and the saves per transaction group commit made.

Usage: python -m tests.benchmarks.bench_place_order DATABASE_URL [--seconds N] [--threads 1,8,64]
Each thread places market orders round-robin over its own bots, so the figure measures the
command path and the event store, not contention on one aggregate.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import psycopg
from dependency_injector import providers
from sqlalchemy.engine import make_url

from application import commands as c
from application.bus import CommandBus
from domain.values import Symbol
from infrastructure.adapters import PriceBook
from infrastructure.event_store import create_tables
from infrastructure.group_commit import GroupCommit
from interfaces.composition import Container
from tests.support.schemas import fresh_schema

PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"
BOTS_PER_THREAD = 40
LIMITS = {
    "max_order_notional": "1000000",
    "max_position_notional": "1000000000",
    "max_open_orders": 1_000_000,
    "daily_loss_limit": "1000000",
    "price_band_pct": "0.5",
    "max_orders_per_minute": 1_000_000,
}


def pgbench_tps(url: str, clients: int, seconds: int) -> float:
    """pgbench with one ~300-byte row insert per transaction."""
    parts = make_url(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_rows (id bigserial PRIMARY KEY, payload text)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO bench_rows (payload) VALUES (repeat('x', 300));\n")
    out = subprocess.run(
        [
            PGBENCH,
            "-n",
            "-c",
            str(clients),
            "-j",
            str(clients),
            "-T",
            str(seconds),
            "-f",
            script.name,
            "-h",
            str(parts.host),
            "-p",
            str(parts.port),
            "-U",
            str(parts.username),
            str(parts.database),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"PGPASSWORD": parts.password or ""},
    ).stdout
    Path(script.name).unlink()
    match = re.search(r"tps = ([0-9.]+)", out)
    assert match, out
    return float(match.group(1))


def place_orders_per_second(bus: CommandBus, threads: int, seconds: float) -> float:
    bots = [
        [
            bus.dispatch(
                c.CreateBot(
                    actor="bench",
                    name=f"b{t}-{i}",
                    strategy="manual",
                    allowed_symbols=["BTC/USDT"],
                    limits=LIMITS,
                )
            ).aggregate_id
            for i in range(BOTS_PER_THREAD)
        ]
        for t in range(threads)
    ]
    for per_thread in bots:
        for bot_id in per_thread:
            bus.dispatch(c.StartBot(actor="bench", bot_id=bot_id))
    counts = [0] * threads
    stop = threading.Event()
    barrier = threading.Barrier(threads + 1)

    def worker(t: int, my_bots: list[UUID]) -> None:
        barrier.wait()
        n = 0
        while not stop.is_set():
            bus.dispatch(
                c.PlaceOrder(
                    actor="bench",
                    bot_id=my_bots[n % len(my_bots)],
                    symbol="BTC/USDT",
                    side="buy",
                    order_type="market",
                    quantity="0.001",
                )
            )
            n += 1
        counts[t] = n

    pool = [threading.Thread(target=worker, args=(t, bots[t])) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--threads", default="1,8,64")
    args = parser.parse_args()
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        for group_commit in (True, False):
            pool = min(threads + 2, 80)
            with fresh_schema(
                args.database_url, "bench", postgres_pool_size=pool, group_commit=group_commit
            ) as settings:
                create_tables(settings)
                container = Container()
                container.settings.override(providers.Object(settings))
                container.prices.override(
                    providers.Object(PriceBook({Symbol("BTC", "USDT"): Decimal("50000")}))
                )
                commands = place_orders_per_second(container.bus(), threads, args.seconds)
                recorder = container.store().events.recorder
                per_batch = recorder.saves / recorder.batches if isinstance(recorder, GroupCommit) else 1.0
                container.store().close()
                container.shutdown_resources()
            rows.append((threads, group_commit, commands, per_batch))
    pgbench = {n: pgbench_tps(args.database_url, n, args.seconds) for n in sorted({1, 8, 16, 64})}
    print(f"pgbench single-row insert tps: {', '.join(f'{n} clients {t:,.0f}' for n, t in pgbench.items())}")
    print(
        "| threads | group commit | PlaceOrder commands/s | saves per transaction "
        "| pgbench tps, same clients | ratio | ratio to pgbench at 16 clients |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for threads, group_commit, commands, per_batch in rows:
        same = pgbench.get(threads) or pgbench_tps(args.database_url, threads, args.seconds)
        switch = "on" if group_commit else "off"
        print(
            f"| {threads} | {switch} | {commands:,.0f} | {per_batch:.1f} | {same:,.0f} "
            f"| {commands / same:.3f} | {commands / pgbench[16]:.3f} |"
        )


if __name__ == "__main__":
    main()
