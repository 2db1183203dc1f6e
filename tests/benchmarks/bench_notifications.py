"""Event commit to webhook delivered: `tbot notifications run` (its own process, woken by PostgreSQL's
LISTEN/NOTIFY) following the event store while this process records risk denials at a steady
rate through the command bus; a local webhook receiver (a real HTTP server) timestamps each signed
POST as it arrives. Latency is the receipt time minus the event's own timestamp (taken just before
its transaction commits, so a little more than commit to delivery). Next to it, in the same run:
one POST from this process to the same receiver (the HTTP floor) and pgbench's single-row insert at
one client on the same PostgreSQL (the database's floor).

Usage: python -m tests.benchmarks.bench_notifications DATABASE_URL [--rate R] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime

import httpx
from dependency_injector import providers
from pydantic import SecretStr

from application import commands as c
from application.errors import OrderDenied
from infrastructure.adapters import PriceBook
from infrastructure.credentials import new_key
from infrastructure.logging import configure_logging
from interfaces.composition import Container
from interfaces.tables import install_tables
from interfaces.workers.notifications import NAME
from tests.benchmarks.bench_place_order import LIMITS, pgbench_tps
from tests.benchmarks.http_load import percentile
from tests.support.processes import start_tbot, stop, wait_for
from tests.support.schemas import fresh_schema
from tests.support.settings import changed
from tests.support.webhook_receiver import WebhookReceiver

GOAL_P99 = 1.0
USER = "bench"


def http_floor(receiver: WebhookReceiver, rounds: int = 500) -> list[float]:
    """One small JSON POST after another to the receiver, from this process."""
    latencies = []
    with httpx.Client(timeout=10) as http:
        for n in range(rounds):
            started = time.perf_counter()
            http.post(f"http://127.0.0.1:{receiver.port}/floor", json={"n": n}).raise_for_status()
            latencies.append(time.perf_counter() - started)
    return latencies


def denials(container: Container, rate: float, seconds: float) -> int:
    """Orders on a symbol the bot may not trade, one every 1/rate seconds: each is recorded as a
    risk denial (Bot.OrderDenied), which the channel asked to be told of."""
    bus = container.bus()
    bot_id = bus.dispatch(
        c.CreateBot(actor=USER, name="told", strategy="manual", allowed_symbols=["BTC/USDT"], limits=LIMITS)
    ).aggregate_id
    bus.dispatch(c.StartBot(actor=USER, bot_id=bot_id))
    count = int(rate * seconds)
    start = time.perf_counter()
    for n in range(count):
        time.sleep(max(0.0, start + n / rate - time.perf_counter()))
        try:
            bus.dispatch(
                c.PlaceOrder(
                    actor=USER,
                    bot_id=bot_id,
                    client_order_id=f"deny-{n}",
                    symbol="ETH/USDT",
                    side="buy",
                    order_type="market",
                    quantity="0.01",
                )
            )
        except OrderDenied:
            pass
        else:
            raise AssertionError("an order the bot may not trade was admitted")
    return count


def delivered(receiver: WebhookReceiver) -> list[float]:
    """Each risk denial's receipt time minus its event's time."""
    latencies = []
    for request in receiver.requests:
        if request.path == "/floor":
            continue
        body = json.loads(request.body)
        assert body["kind"] == "risk_denied", body
        latencies.append(request.received_at - datetime.fromisoformat(body["occurred_at"]).timestamp())
    return latencies


def _ms(seconds: float, digits: int = 1) -> str:
    return f"{seconds * 1000:.{digits}f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--rate", type=float, default=50.0, help="risk denials recorded per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    with WebhookReceiver() as receiver, fresh_schema(args.database_url, "bench") as postgres:
        key = new_key()
        settings = changed(postgres, exchange={"credentials_key": SecretStr(key)})
        container = Container()
        container.settings.override(providers.Object(settings))
        container.prices.override(providers.Object(PriceBook({})))
        install_tables(container)
        container.notification_channels().add(
            USER, "webhook", receiver.url, "whsec_bench_0123456789", ["risk_denied"], True
        )
        floor = http_floor(receiver)
        notifier = start_tbot(
            settings,
            "notifications",
            "run",
            TBOT_CREDENTIALS_KEY=key,
            TBOT_NOTIFY_ALLOW_PRIVATE_URLS="true",
            TBOT_LOG_LEVEL="WARNING",
        )
        try:
            channels = container.notification_channels()
            # it starts at the store's head: nothing recorded before its tracking row is told
            wait_for(lambda: channels.position(NAME) is not None or notifier.poll() is not None, 60, "start")
            assert notifier.poll() is None, notifier.stderr.read() if notifier.stderr else ""
            count = denials(container, args.rate, args.seconds)
            try:
                receiver.wait_for(len(floor) + count, timeout=60)
            except AssertionError:
                stop(notifier)
                print(notifier.stderr.read() if notifier.stderr else "")
                raise
        finally:
            stop(notifier)
            container.store().close()
            container.shutdown_resources()
        latencies = delivered(receiver)
        tps = pgbench_tps(args.database_url, clients=1, seconds=5)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    floor_p50, floor_p99 = percentile(floor, 0.5), percentile(floor, 0.99)
    print(f"{count:,} risk denials at {args.rate:g}/s for {args.seconds:g} s, each told to one webhook")
    print()
    print("| measure | p50 | p99 | goal |")
    print("|---|---|---|---|")
    verdict = "met" if p99 <= GOAL_P99 else "missed"
    print(f"| event commit to webhook delivered | {_ms(p50)} | {_ms(p99)} | p99 ≤ 1 s: {verdict} |")
    print(f"| floor: one POST to the same receiver | {_ms(floor_p50, 2)} | {_ms(floor_p99, 2)} | |")
    print(f"| floor: pgbench single-row insert, 1 client | {_ms(1 / tps, 2)} ({tps:,.0f}/s) | | |")
    assert len(latencies) == count, f"{len(latencies)} delivered of {count}"


if __name__ == "__main__":
    main()
