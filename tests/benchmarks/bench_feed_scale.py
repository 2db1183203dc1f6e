"""Many live-feed subscribers on one API process: the server's memory per idle WebSocket
subscriber, and how long an event takes from its commit to every subscriber while orders are
placed at a low rate.

One `tbot serve` process and one projection worker on PostgreSQL and Redis. The subscribers are
the bench user's, so each receives the events of every order placed; they run in this process
(asyncio, the websockets library) on the same two cores as the server, the worker, PostgreSQL
and Redis, so the delivery figure includes receiving N copies of every event here.

Usage: python -m tests.benchmarks.bench_feed_scale DATABASE_URL REDIS_URL [--subscribers N]
       [--rate COMMANDS_PER_SECOND] [--seconds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import datetime
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.benchmarks.http_load import bench_api, latency_summary, started_bots
from tests.support.api import Api

CONNECT_AT_ONCE = 200


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def subscribe(api: Api, count: int) -> list[ClientConnection]:
    url = api.base_url.replace("http://", "ws://") + "/v1/feed"
    headers = {"X-API-Key": api.keys["bench"]}

    async def one() -> ClientConnection:
        ws = await connect(url, additional_headers=headers, max_queue=None, open_timeout=60)
        await ws.recv()  # subscribed
        return ws

    opened: list[ClientConnection] = []
    for start in range(0, count, CONNECT_AT_ONCE):
        opened += await asyncio.gather(*(one() for _ in range(min(CONNECT_AT_ONCE, count - start))))
    return opened


async def deliveries(
    api: Api, bot: str, feeds: list[ClientConnection], rate: float, seconds: float
) -> list[float]:
    """Orders placed at ``rate`` for ``seconds``; each event's delay from its timestamp to its
    arrival at every subscriber."""
    delays: list[float] = []
    done = asyncio.Event()

    async def listen(ws: ClientConnection) -> None:
        while not done.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            arrived = time.time()
            message = json.loads(text)
            if message["type"] == "event":
                delays.append(arrived - datetime.fromisoformat(message["at"]).timestamp())

    listening = [asyncio.create_task(listen(ws)) for ws in feeds]
    async with httpx.AsyncClient(base_url=api.base_url, headers={"X-API-Key": api.keys["bench"]}) as http:
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
            order = {"symbol": "BTC/USDT", "side": "buy", "order_type": "market", "quantity": "0.001"}
            answer = await http.post(f"/v1/bots/{bot}/orders", json={**order, "client_order_id": f"f{n}"})
            assert answer.status_code == 201, answer.text
    await asyncio.sleep(3)
    done.set()
    await asyncio.gather(*listening)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("redis_url")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    with bench_api(args.database_url, args.redis_url) as api:
        [bot] = started_bots(api, "bench", 1, "f")
        assert api.server is not None
        server = api.server.pid

        async def run() -> tuple[int, float, list[float]]:
            before = rss_bytes(server)
            started = time.perf_counter()
            feeds = await subscribe(api, args.subscribers)
            connect_seconds = time.perf_counter() - started
            await asyncio.sleep(2)
            grown = rss_bytes(server) - before
            delays = await deliveries(api, bot, feeds, args.rate, args.seconds)
            await asyncio.gather(*(ws.close() for ws in feeds))
            return grown, connect_seconds, delays

        grown, connect_seconds, delays = asyncio.run(run())
    events = int(args.rate * args.seconds) * 2
    print("| measure | figure |")
    print("|---|---|")
    print(f"| subscribers on one API process | {args.subscribers:,} (connected in {connect_seconds:.1f} s) |")
    print(f"| server memory per idle subscriber | {grown / args.subscribers / 1024:.1f} KiB |")
    print(
        f"| events delivered | {len(delays):,} of {events * args.subscribers:,} "
        f"({events} events x {args.subscribers:,} subscribers, at {args.rate:g} orders/s) |"
    )
    print(f"| commit to each subscriber | {latency_summary(delays)} |")


if __name__ == "__main__":
    main()
