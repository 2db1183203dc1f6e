"""Many live-feed subscribers on one API process, in the shape of a busy node: the server's memory
per idle WebSocket subscriber, and how long an event takes from its commit to each subscriber
that may see it while events are appended at a steady rate.

One `tbot serve` process and one projection worker on PostgreSQL and Redis. ``--owners`` traders
own one bot each; ``--busy`` of the subscribers follow the first owner (the busy bot's) and the
rest are spread over the others, so an event goes to its owner's subscribers only. The events are
appended by a generator in a process of its own (orders placed, filled, cancelled and denied,
written straight to the event store), spread evenly over the bots; the projection worker puts
them on the live feed. The subscribers run in this process (asyncio, the websockets library) on
the same two cores as the server, the worker, PostgreSQL, Redis and the generator, so the delivery
figure includes receiving every copy here.

Usage: python -m tests.benchmarks.bench_feed_scale DATABASE_URL REDIS_URL [--subscribers N]
       [--busy N] [--owners N] [--rates EVENTS_PER_SECOND ...] [--seconds N]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import orjson
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect

from infrastructure.event_store import open_store
from infrastructure.settings import Settings
from tests.benchmarks.http_load import latency_summary
from tests.support.api import Api, api_on
from tests.support.generate import Generator
from tests.support.schemas import fresh_schema
from tests.support.settings import changed

CONNECT_AT_ONCE = 200
SETTLE_SECONDS = 3.0


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def owners_of(subscribers: int, busy: int, owners: int) -> list[str]:
    """The owner each subscriber follows: ``busy`` on owner-0, the rest spread over the others."""
    rest = [f"owner-{1 + n % (owners - 1)}" for n in range(subscribers - busy)]
    return ["owner-0"] * busy + rest


async def subscribe(api: Api, owners: Sequence[str]) -> list[ClientConnection]:
    url = api.base_url.replace("http://", "ws://") + "/v1/feed"

    async def one(owner: str) -> ClientConnection:
        ws = await connect(
            url, additional_headers={"X-API-Key": api.keys[owner]}, max_queue=None, open_timeout=60
        )
        await ws.recv()  # subscribed
        return ws

    opened: list[ClientConnection] = []
    for start in range(0, len(owners), CONNECT_AT_ONCE):
        opened += await asyncio.gather(*(one(owner) for owner in owners[start : start + CONNECT_AT_ONCE]))
    return opened


def generate(settings: Settings, bots: int, pipe: Connection) -> None:
    """In a process of its own: the bots, then for each (rate, seconds) asked for, events at that
    rate; answers with (position committed, wall time) for every commit."""
    generator = Generator(open_store(settings), bots=bots, owners=bots, seed=3)
    pipe.send("ready")
    while (asked := pipe.recv()) is not None:
        rate, seconds = asked
        committed: list[tuple[int, float]] = []
        started, sent = time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            pause = started + sent / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            before = generator.history.events
            generator.run(4, per_transaction=4)
            committed.append((generator.store.last_position(), time.time()))
            sent += generator.history.events - before
        pipe.send(committed)


class Receipts:
    """(position, arrival time) of every event message every subscriber received."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[int, float]] = []
        self.done = asyncio.Event()

    async def listen(self, ws: ClientConnection) -> None:
        while not self.done.is_set():
            try:
                async with asyncio.timeout(0.5):
                    text = await ws.recv()
            except TimeoutError:
                continue
            arrived = time.time()
            message = orjson.loads(text)
            if message["type"] == "event":
                self.arrivals.append((message["position"], arrived))


def delays(committed: list[tuple[int, float]], arrivals: list[tuple[int, float]]) -> list[float]:
    """Each arrival's delay after the commit that made its event visible."""
    positions = [position for position, _ in committed]
    out = []
    for position, arrived in arrivals:
        at = bisect.bisect_left(positions, position)
        if at < len(committed):
            out.append(max(0.0, arrived - committed[at][1]))
    return out


@dataclass(frozen=True)
class Phase:
    """Events appended at one rate: the rate reached, each delivery's delay, and the CPU seconds
    the server and the receivers used meanwhile."""

    rate: float
    delays: list[float]
    server_cpu: float
    our_cpu: float


async def measure(
    feeds: list[ClientConnection], generator: Connection, server: int, rate: float, seconds: int
) -> Phase:
    receipts = Receipts()
    listening = [asyncio.create_task(receipts.listen(ws)) for ws in feeds]
    server_cpu, our_cpu = cpu_seconds(server), cpu_seconds(os.getpid())
    generator.send((rate, seconds))
    committed = await asyncio.to_thread(generator.recv)
    await asyncio.sleep(SETTLE_SECONDS)
    receipts.done.set()
    await asyncio.gather(*listening)
    server_cpu, our_cpu = cpu_seconds(server) - server_cpu, cpu_seconds(os.getpid()) - our_cpu
    first = committed[0][0]
    measured = [(position, at) for position, at in receipts.arrivals if position > first]
    reached = (committed[-1][0] - first) / seconds
    return Phase(reached, delays(committed, measured), server_cpu, our_cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("redis_url")
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--busy", type=int, default=1_000, help="subscribers of the busy bot's owner")
    parser.add_argument("--owners", type=int, default=100)
    parser.add_argument("--rates", type=float, nargs="+", default=[100.0, 1000.0])
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    users = {f"owner-{n}": "trader" for n in range(args.owners)}
    env = {"TBOT_RATE_LIMIT_PER_SECOND": "1000000", "TBOT_LOG_LEVEL": "WARNING"}
    context = multiprocessing.get_context("spawn")
    with (
        fresh_schema(args.database_url, "bench") as postgres,
        api_on(changed(postgres, redis={"url": SecretStr(args.redis_url)}), users, **env) as api,
    ):
        assert api.server is not None
        server = api.server.pid
        ours, theirs = context.Pipe()
        generator = context.Process(target=generate, args=(postgres, args.owners, theirs), daemon=True)
        generator.start()
        assert ours.recv() == "ready"

        async def run() -> tuple[int, float, list[Phase]]:
            before = rss_bytes(server)
            started = time.perf_counter()
            feeds = await subscribe(api, owners_of(args.subscribers, args.busy, args.owners))
            connect_seconds = time.perf_counter() - started
            print(
                f"{len(feeds):,} subscribers connected in {connect_seconds:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            await asyncio.sleep(2)
            grown = rss_bytes(server) - before
            results = []
            for rate in args.rates:
                results.append(await measure(feeds, ours, server, rate, args.seconds))
            await asyncio.gather(*(ws.close() for ws in feeds))
            return grown, connect_seconds, results

        grown, connect_seconds, results = asyncio.run(run())
        ours.send(None)
        generator.join(10)
    per_owner = (args.subscribers - args.busy) / (args.owners - 1)
    print("| measure | figure |")
    print("|---|---|")
    print(
        f"| subscribers on one API process | {args.subscribers:,} (connected in {connect_seconds:.1f} s): "
        f"{args.busy:,} on the busy bot's owner, about {per_owner:.0f} on each of {args.owners - 1} others |"
    )
    print(f"| server memory per idle subscriber | {grown / args.subscribers / 1024:.1f} KiB |")
    for phase in results:
        sends = phase.rate / args.owners * args.subscribers  # each event to its owner's subscribers
        received = len(phase.delays)
        print(
            f"| {phase.rate:,.0f} events/s over {args.owners} bots for {args.seconds} s (about "
            f"{sends:,.0f} messages/s out) | {received:,} delivered; commit to subscriber "
            f"{latency_summary(phase.delays)}; CPU per message delivered: server "
            f"{phase.server_cpu / received * 1e6:.0f} µs, receivers {phase.our_cpu / received * 1e6:.0f} µs |"
        )


if __name__ == "__main__":
    main()
