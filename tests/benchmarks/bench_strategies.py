"""Strategy runtime: from a candle's close to the orders its decisions make, on PostgreSQL.

N bots run `sma_cross` (fast 3, slow 8) on BTC/USDT, with a past whose fast average crosses above
the slow one on the candle that closes in the measured step, so every bot decides to buy then.
The strategy worker runs as `tbot strategies run` does (the supervised job, woken by the NOTIFY
of candle writes). The step writes the next minute's candle (which closes the candle before it);
each bot's latency is the time from that write to its order recorded (the `Order.Placed`
event's timestamp). Printed per N: p50, p99 and max latency, decisions and orders recorded; then
the most bots one runtime process serves on one-minute candles with the p99 under one second,
beside pgbench's single-row insert rate on the same PostgreSQL.

Usage: python -m tests.benchmarks.bench_strategies DATABASE_URL [--bots 100 250 500 1000 2000]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from dependency_injector import providers

from application import commands as c
from domain.market import Candle
from domain.order import Order
from domain.values import Symbol
from infrastructure.candles import CandleStore
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.demo import demo_history
from interfaces.tables import install_tables
from interfaces.workers.projections import drain_projections
from interfaces.workers.strategies import build_strategies_worker
from tests.benchmarks.bench_place_order import pgbench_tps
from tests.support.schemas import fresh_schema

BTC = Symbol("BTC", "USDT")
PRICE = Decimal(60_000)
SMA = {"fast": 3, "slow": 8, "quantity": "0.001"}
LIMITS = {
    "max_order_notional": "1000000",
    "max_position_notional": "1000000",
    "max_open_orders": 1000,
    "daily_loss_limit": "1000000",
    "price_band_pct": "0.5",
    "max_orders_per_minute": 100_000,
}


def run(settings: Settings, bots: int) -> dict[str, Any]:
    container = Container()
    container.settings.override(providers.Object(settings))
    install_tables(container)
    bus, store = container.bus(), container.store()
    candles = CandleStore(container.read_engine())
    now = datetime.now(UTC)
    candles.write(demo_history(now, PRICE))  # the candle opened a minute ago crosses when it closes
    container.prices().set(BTC, PRICE)  # the mark the risk rules judge market orders at
    ids = []
    for n in range(bots):
        created = bus.dispatch(
            c.CreateBot(
                actor="bench",
                name=f"sma {n}",
                strategy="sma_cross",
                params=SMA,
                allowed_symbols=["BTC/USDT"],
                limits=LIMITS,
            )
        )
        bus.dispatch(c.StartBot(actor="bench", bot_id=created.aggregate_id))
        ids.append(created.aggregate_id)
    drain_projections(container, ["bots"])  # the runtime lists running bots from it
    worker = build_strategies_worker(container)
    thread = threading.Thread(target=worker.run, name="strategies")
    thread.start()
    try:
        worker.started.wait(30)
        time.sleep(1.5)  # the first turn decides (no action) on the candle still holding the jump
        start = store.last_position()
        closing = now.replace(second=0, microsecond=0)  # the minute after the crossing candle
        written = datetime.now(UTC)
        candles.write([Candle(BTC, closing, PRICE, PRICE, PRICE, PRICE, Decimal(1))])
        placed = _wait_for_orders(store, start, bots, timeout=120)
    finally:
        worker.stop()
        thread.join(30)
        store.close()
        container.read_engine().dispose()
    latencies = sorted((event.timestamp - written).total_seconds() * 1000 for event in placed)
    return {
        "bots": bots,
        "orders": len(placed),
        "p50": statistics.median(latencies) if latencies else None,
        "p99": _percentile(latencies, 0.99),
        "max": latencies[-1] if latencies else None,
    }


def _percentile(ordered: list[float], share: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _wait_for_orders(store: Any, after: int, count: int, timeout: float) -> list[Order.Placed]:
    deadline = time.monotonic() + timeout
    placed: list[Order.Placed] = []
    position = after
    while len(placed) < count and time.monotonic() < deadline:
        notifications = store.recorder.select_notifications(start=position + 1, limit=5000)
        for notification in notifications:
            event = store.mapper.to_domain_event(notification)
            if isinstance(event, Order.Placed):
                placed.append(event)
            position = notification.id
        if not notifications:
            time.sleep(0.02)
    return placed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--bots", type=int, nargs="+", default=[100, 250, 500, 1000, 2000])
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    results = []
    for bots in args.bots:
        with fresh_schema(args.database_url, "bench", postgres_pool_size=12) as settings:
            results.append(run(settings, bots))
    tps = pgbench_tps(args.database_url, clients=1, seconds=5)
    print("| bots | orders recorded | candle close to order recorded p50 | p99 | max |")
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        figures = " | ".join("-" if r[k] is None else f"{r[k]:.0f} ms" for k in ("p50", "p99", "max"))
        print(f"| {r['bots']:,} | {r['orders']:,} | {figures} |")
    served = [r["bots"] for r in results if r["orders"] == r["bots"] and (r["p99"] or 1e9) <= 1000]
    print(f"\nmost bots with the p99 under 1 s: {max(served) if served else 0:,} (goal >= 1,000)")
    print(f"pgbench single-row insert, 1 client, same PostgreSQL, same run: {tps:,.0f} tps")


if __name__ == "__main__":
    main()
