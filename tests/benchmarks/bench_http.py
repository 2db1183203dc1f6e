"""The HTTP API under load: one `tbot serve` process and one projection worker on PostgreSQL and
Redis, durable (synchronous commit on), risk checks on.

1. PlaceOrder over HTTP from 16 concurrent clients (closed loop): commands/s, p50 and p99,
   next to pgbench's single-row-insert tps at 16 clients on the same PostgreSQL in the same run.
2. PlaceOrder at a steady 500 commands/s (open loop: each request is due at its slot and its
   latency counts from the slot, so a stall is not hidden): the rate reached, p50 and p99.
3. 100 live-feed WebSocket subscribers while orders are placed: the delay from each event's
   timestamp (taken just before its append commits) to its arrival at each subscriber.

Usage: python -m tests.benchmarks.bench_http DATABASE_URL REDIS_URL [--seconds N]
The load generators run in this process, on the same two cores as the server, PostgreSQL, Redis
and the worker: the figures include that contention.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from itertools import count

import httpx
from websockets.asyncio.client import connect

from tests.benchmarks.bench_place_order import pgbench_tps
from tests.benchmarks.http_load import bench_api, latency_summary, started_bots
from tests.support.api import Api

CLIENTS = 16
BOTS_PER_CLIENT = 4
SUBSCRIBERS = 100
FEED_RATE = 25  # commands/s while measuring the feed (2 events each, to every subscriber)
_ORDER_IDS = count()


def _order() -> dict[str, str]:
    return {
        "symbol": "BTC/USDT",
        "side": "buy",
        "order_type": "limit",
        "quantity": "0.001",
        "price": "50000",
        "client_order_id": f"b{next(_ORDER_IDS)}",
    }


async def _place(http: httpx.AsyncClient, bot_id: str) -> bool:
    """Whether the order was placed; False when admission control refused it (503 overloaded)."""
    placed = await http.post(f"/v1/bots/{bot_id}/orders", json=_order())
    assert placed.status_code in (201, 503), placed.text
    return placed.status_code == 201


async def closed_loop(api: Api, bots: list[str], seconds: float) -> tuple[float, list[float]]:
    """CLIENTS clients, each placing its next order as soon as the last one is answered."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(mine: list[str]) -> None:
        async with httpx.AsyncClient(base_url=api.base_url, headers=_key(api), timeout=60) as http:
            n = 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if await _place(http, mine[n % len(mine)]):
                    latencies.append(time.perf_counter() - started)
                n += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(bots[i::CLIENTS]) for i in range(CLIENTS)))
    return len(latencies) / (time.perf_counter() - started), latencies


@dataclass
class OpenLoop:
    offered: float
    completed: float  # commands/s answered 201
    latencies: list[float]
    failures: int  # connection errors and timeouts (an overloaded server drops connections)
    refused: int  # answered 503 overloaded by admission control


async def open_loop(api: Api, bots: list[str], rate: float, seconds: float) -> OpenLoop:
    """Requests due every 1/rate seconds, sent whether or not earlier ones were answered."""
    latencies: list[float] = []
    failures = refused = 0
    # idle connections are dropped before the server's own keep-alive timeout (5 s) can race a reuse
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=api.base_url, headers=_key(api), timeout=60, limits=limits) as http:

        async def one(due: float, bot_id: str) -> None:
            nonlocal failures, refused
            try:
                placed = await _place(http, bot_id)
            except httpx.TransportError:
                failures += 1
                return
            if placed:
                latencies.append(time.perf_counter() - due)
            else:
                refused += 1

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for n in range(total):
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(due, bots[n % len(bots)])))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return OpenLoop(rate, len(latencies) / elapsed, latencies, failures, refused)


async def feed_delays(api: Api, bots: list[str], seconds: float) -> tuple[int, list[float]]:
    """SUBSCRIBERS feeds open while orders are placed at FEED_RATE; each event's delay from its
    timestamp to its arrival, at every subscriber."""
    url = api.base_url.replace("http://", "ws://") + "/v1/feed"
    arrivals: list[list[tuple[float, str]]] = [[] for _ in range(SUBSCRIBERS)]
    done = asyncio.Event()

    async def subscriber(received: list[tuple[float, str]], ready: asyncio.Event) -> None:
        async with connect(url, additional_headers=_key(api), max_queue=None) as ws:
            await ws.recv()  # subscribed
            ready.set()
            while not done.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                received.append((time.time(), str(text)))

    readiness = [asyncio.Event() for _ in range(SUBSCRIBERS)]
    listening = [asyncio.create_task(subscriber(arrivals[i], readiness[i])) for i in range(SUBSCRIBERS)]
    await asyncio.gather(*(r.wait() for r in readiness))
    await open_loop(api, bots, FEED_RATE, seconds)
    await asyncio.sleep(2)
    done.set()
    await asyncio.gather(*listening)
    delays = []
    for received in arrivals:
        for arrived, text in received:
            message = json.loads(text)
            if message["type"] == "event":
                delays.append(arrived - datetime.fromisoformat(message["at"]).timestamp())
    return sum(1 for m in arrivals[0] if '"type":"event"' in m[1]), delays


def _progress(what: str) -> None:
    print(f"bench_http: {what}", file=sys.stderr, flush=True)


def _key(api: Api) -> dict[str, str]:
    return {"X-API-Key": api.keys["bench"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("redis_url")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    pool = str(CLIENTS + 4)  # a connection for every concurrent command
    with bench_api(args.database_url, args.redis_url, TBOT_POSTGRES_POOL_SIZE=pool) as api:
        bots = started_bots(api, "bench", CLIENTS * BOTS_PER_CLIENT, "b")
        asyncio.run(closed_loop(api, bots, 2))  # warm up
        _progress("closed loop")
        rate, latencies = asyncio.run(closed_loop(api, bots, args.seconds))
        _progress(f"{rate:.0f}/s; open loop at 500/s")
        asked = asyncio.run(open_loop(api, bots, 500, args.seconds))
        _progress(f"{asked.completed:.0f}/s; open loop at half the closed loop's rate")
        half = asyncio.run(open_loop(api, bots, round(rate / 2), args.seconds))
        _progress("live feed")
        events, delays = asyncio.run(feed_delays(api, bots, args.seconds))
        _progress("pgbench")
    tps = pgbench_tps(args.database_url, CLIENTS, args.seconds)
    print("| measure | figure |")
    print("|---|---|")
    print(
        f"| PlaceOrder over HTTP, {CLIENTS} clients | {rate:,.0f} commands/s ({latency_summary(latencies)}) |"
    )
    print(f"| pgbench single-row insert, {CLIENTS} clients, same PostgreSQL | {tps:,.0f} tps |")
    print(f"| ratio | {rate / tps:.3f} |")
    for steady in (asked, half):
        print(
            f"| PlaceOrder offered at a steady {steady.offered:,.0f}/s | {steady.completed:,.0f} commands/s "
            f"placed, {steady.refused} refused 503, {steady.failures} dropped; "
            f"{latency_summary(steady.latencies)} of those placed |"
        )
    print(
        f"| live feed, {SUBSCRIBERS} subscribers, {FEED_RATE * 2} events/s ({events} each) | "
        f"event timestamp to arrival: {latency_summary(delays)} |"
    )


if __name__ == "__main__":
    main()
