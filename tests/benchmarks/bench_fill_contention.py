"""Fills of one busy bot against its new orders, on PostgreSQL.

Market orders on ONE bot are offered at a steady rate by several threads (open loop: each thread
sends on its own schedule) while the execution manager sends them to the paper exchange, where
they fill at once, and records what comes back (submitted, accepted, the fill on order, position
and bot). Placing and recording run in this process on two separate stores, caches and command
buses, as `tbot serve` and `tbot execution run` would in two processes (they share the
interpreter here, which the two cores are anyway).

Printed: orders placed/s, fills recorded/s, the backlog's settle time (from the last placement
until every order is terminal), conflict retries and give-ups per command type on each side,
PlaceOrder latency (each call's own time), and pgbench's single-row-insert tps on the same server.

Usage: python -m tests.benchmarks.bench_fill_contention DATABASE_URL [--seconds N] [--rate R]
       [--threads T]
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from dependency_injector import providers

from application import commands as c
from application.bus import CommandBus
from application.errors import ConcurrencyConflict
from application.store import TradingApplication
from domain.values import Symbol
from infrastructure.adapters import PriceBook
from infrastructure.event_store import create_tables
from infrastructure.logging import configure_logging
from interfaces.composition import Container
from interfaces.tables import install_worker_tables
from interfaces.workers.execution import build_execution_worker
from tests.benchmarks.bench_place_order import LIMITS, pgbench_tps
from tests.benchmarks.http_load import latency_summary
from tests.support.conflicts import Conflicts
from tests.support.schemas import fresh_schema
from tests.support.settings import changed

PRICE = Decimal(50000)
SETTLE_TIMEOUT = 300.0


@dataclass
class Outcome:
    placed: int
    place_seconds: float
    fills: int
    fill_seconds: float
    settle_seconds: float | None  # None: not settled within SETTLE_TIMEOUT
    unfinished: int  # orders not terminal when the wait ended
    latencies: list[float]
    api: Conflicts
    execution: Conflicts


class Terminal:
    """Follows the event store: how many orders have ended, how many fills, when the last came."""

    def __init__(self, store: TradingApplication) -> None:
        self.store = store
        self.position = store.last_position()
        self.ended: set[UUID] = set()
        self.fills = 0
        self.last_fill = 0.0
        self.fill_seconds = 0.0  # from the first placement to the last fill

    def catch_up(self) -> None:
        while True:
            notifications = self.store.recorder.select_notifications(start=self.position + 1, limit=2000)
            if not notifications:
                return
            for notification in notifications:
                if notification.topic.endswith("Order.Filled"):
                    self.fills += 1
                    self.last_fill = time.perf_counter()
                if ":Order." in notification.topic:
                    event = self.store.mapper.to_domain_event(notification)
                    status = getattr(event, "status", None)
                    if status is not None and status.is_terminal:
                        self.ended.add(event.originator_id)
            self.position = notifications[-1].id


def run(
    bus: CommandBus, store: TradingApplication, rate: float, seconds: float, threads: int
) -> tuple[int, float, float, list[float], Terminal]:
    """Places the orders and waits for every one to end; returns how many were placed, the time
    placing took, the settle time (-1: not settled), the latencies, and what the store showed."""
    bot_id = bus.dispatch(
        c.CreateBot(
            actor="bench", name="busy", strategy="manual", allowed_symbols=["BTC/USDT"], limits=LIMITS
        )
    ).aggregate_id
    bus.dispatch(c.StartBot(actor="bench", bot_id=bot_id))
    terminal = Terminal(store)
    placed: list[list[UUID]] = [[] for _ in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    per_thread = rate / threads
    start = time.perf_counter() + 0.1

    def place(t: int) -> None:
        for n in range(int(per_thread * seconds)):
            due = start + (n + t / threads) / per_thread  # the threads' slots interleave
            time.sleep(max(0.0, due - time.perf_counter()))
            begun = time.perf_counter()
            try:
                ack = bus.dispatch(
                    c.PlaceOrder(
                        actor="bench",
                        bot_id=bot_id,
                        client_order_id=f"t{t}-{n}",
                        symbol="BTC/USDT",
                        side="buy" if n % 2 == 0 else "sell",  # keeps position and balances level
                        order_type="market",
                        quantity="0.0001",
                    )
                )
            except ConcurrencyConflict:
                continue  # counted by the observer
            latencies[t].append(time.perf_counter() - begun)
            placed[t].append(ack.order_id)

    pool = [threading.Thread(target=place, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    while any(thread.is_alive() for thread in pool):
        terminal.catch_up()
        time.sleep(0.05)
    for thread in pool:
        thread.join()
    placed_at = time.perf_counter()
    orders = {order_id for ids in placed for order_id in ids}
    settle = -1.0
    while time.perf_counter() - placed_at < SETTLE_TIMEOUT:
        terminal.catch_up()
        terminal.ended &= orders
        if len(terminal.ended) == len(orders):
            settle = time.perf_counter() - placed_at
            break
        time.sleep(0.05)
    terminal.fill_seconds = max(terminal.last_fill - start, 1e-9)
    return len(orders), placed_at - start, settle, [x for per in latencies for x in per], terminal


def contended(database_url: str, rate: float, seconds: float, threads: int) -> Outcome:
    prices = PriceBook({Symbol("BTC", "USDT"): PRICE})
    api_conflicts, execution_conflicts = Conflicts(), Conflicts()
    with fresh_schema(database_url, "bench", postgres_pool_size=threads + 4) as postgres:
        settings = changed(
            postgres,
            paper={"balances": {"USDT": Decimal(100_000_000), "BTC": Decimal(1000)}},
            execution={"poll_seconds": 0.1},
        )
        create_tables(settings)
        api = Container()
        execution = Container()
        for container, conflicts in ((api, api_conflicts), (execution, execution_conflicts)):
            container.settings.override(providers.Object(settings))
            container.prices.override(providers.Object(prices))
            container.handler_deps.add_kwargs(conflicts=conflicts)
        install_worker_tables(execution.read_engine())
        worker = build_execution_worker(execution)
        working = threading.Thread(target=worker.run, name="execution")
        working.start()
        try:
            if not worker.started.wait(60):
                raise RuntimeError("the execution worker did not start")
            placed, place_seconds, settle, latencies, terminal = run(
                api.bus(), api.store(), rate, seconds, threads
            )
        finally:
            worker.stop()
            working.join()
            api.store().close()
            execution.store().close()
    return Outcome(
        placed=placed,
        place_seconds=place_seconds,
        fills=terminal.fills,
        fill_seconds=terminal.fill_seconds,
        settle_seconds=None if settle < 0 else settle,
        unfinished=placed - len(terminal.ended),
        latencies=latencies,
        api=api_conflicts,
        execution=execution_conflicts,
    )


def _counts(conflicts: Conflicts, side: str, kind: str) -> str:
    counter = conflicts.retries if kind == "retries" else conflicts.give_ups
    shown = ", ".join(f"{name} {n:,}" for name, n in counter.most_common()) or "none"
    return f"| conflict {kind}, {side} | {shown} |"


def report(outcome: Outcome, tps: float, rate: float, seconds: float, threads: int) -> list[str]:
    settle = (
        f"not settled in {SETTLE_TIMEOUT:.0f} s ({outcome.unfinished:,} orders open)"
        if outcome.settle_seconds is None
        else f"{outcome.settle_seconds:.1f} s"
    )
    return [
        "| measure | figure |",
        "|---|---|",
        f"| market orders offered on one bot at a steady {rate:,.0f}/s for {seconds:.0f} s by {threads}"
        f" threads | placed {outcome.placed / outcome.place_seconds:,.0f}/s ({outcome.placed:,} orders) |",
        f"| fills recorded | {outcome.fills / outcome.fill_seconds:,.0f}/s ({outcome.fills:,} fills) |",
        f"| backlog settle time (last placement to every order terminal) | {settle} |",
        _counts(outcome.api, "placing side", "retries"),
        _counts(outcome.api, "placing side", "give-ups"),
        _counts(outcome.execution, "execution side", "retries"),
        _counts(outcome.execution, "execution side", "give-ups"),
        f"| PlaceOrder latency | {latency_summary(outcome.latencies, digits=1)} |",
        f"| pgbench single-row insert, {threads} clients, same PostgreSQL, same run | {tps:,.0f} tps |",
    ]


def main(argv: list[str] | None = None) -> Any:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    configure_logging("console", "CRITICAL")  # given-up reports are counted, not logged
    outcome = contended(args.database_url, args.rate, args.seconds, args.threads)
    tps = pgbench_tps(args.database_url, args.threads, int(args.seconds))
    print("\n".join(report(outcome, tps, args.rate, args.seconds, args.threads)))


if __name__ == "__main__":
    main()
