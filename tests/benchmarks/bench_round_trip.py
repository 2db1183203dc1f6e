"""Order round trip on the paper exchange: HTTP PlaceOrder -> `tbot execution run` sends it to the
paper exchange -> the fill is recorded -> the projection worker shows it in the `positions` read
model. One server, one projection worker and one execution worker on PostgreSQL and Redis, durable.

Market orders are offered at a steady rate (open loop: each order's clock starts at its slot, so
a stall is not hidden), round-robin over BOTS bots. The k-th order sent to a bot counts as visible
when that bot's position row shows k fills (polled every POLL seconds, so figures are at most that
much late). Printed next to pgbench's single-row-insert tps on the same PostgreSQL in the same run.

Usage: python -m tests.benchmarks.bench_round_trip DATABASE_URL REDIS_URL [--seconds N] [--rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections import deque
from itertools import count

import httpx
import psycopg
from psycopg import sql
from pydantic import SecretStr

from tests.benchmarks.bench_place_order import pgbench_tps
from tests.benchmarks.http_load import latency_summary, started_bots
from tests.support.api import PRICES, Api, api_on
from tests.support.processes import start_tbot, stop
from tests.support.schemas import fresh_schema
from tests.support.settings import changed

BOTS = 32
POLL = 0.005
_IDS = count()


async def round_trips(
    api: Api, database_url: str, schema: str, bots: list[str], rate: float, seconds: float
) -> tuple[list[float], int, float]:
    """Orders offered at ``rate`` for ``seconds``; their round trips, how many never became visible
    within a minute after the last was sent, and the rate the HTTP API answered."""
    sent: dict[str, deque[float]] = {bot: deque() for bot in bots}
    query = sql.SQL("SELECT bot_id::text, fills FROM {}.positions").format(sql.Identifier(schema))
    with psycopg.connect(database_url) as conn:  # fills shown before this run: not this run's
        shown = {bot: 0 for bot in bots} | dict(conn.execute(query).fetchall())
    done: list[float] = []
    answered = 0
    sending = True

    async def watch() -> None:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            while sending or any(sent.values()):
                for bot_id, fills in await (await conn.execute(query)).fetchall():
                    while shown[bot_id] < fills and sent[bot_id]:
                        shown[bot_id] += 1
                        done.append(time.perf_counter() - sent[bot_id].popleft())
                await asyncio.sleep(POLL)

    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256, keepalive_expiry=2)
    headers = {"X-API-Key": api.keys["bench"]}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=60, limits=limits) as http:

        async def one(due: float, bot_id: str, side: str) -> None:
            nonlocal answered
            sent[bot_id].append(due)
            body = {"symbol": "BTC/USDT", "side": side, "order_type": "market", "quantity": "0.0001"}
            placed = await http.post(
                f"/v1/bots/{bot_id}/orders", json={**body, "client_order_id": f"rt{next(_IDS)}"}
            )
            assert placed.status_code == 201, placed.text
            answered += 1

        watcher = asyncio.create_task(watch())
        tasks = []
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            side = "buy" if (n // len(bots)) % 2 == 0 else "sell"  # keeps the paper balances level
            tasks.append(asyncio.create_task(one(due, bots[n % len(bots)], side)))
        await asyncio.gather(*tasks)
        answered_rate = answered / (time.perf_counter() - start)
        sending = False
        with contextlib.suppress(TimeoutError):  # what is still not visible is counted as missing
            await asyncio.wait_for(watcher, timeout=60)
    return done, sum(len(q) for q in sent.values()), answered_rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("redis_url")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200)
    args = parser.parse_args()
    env = {
        "TBOT_RATE_LIMIT_PER_SECOND": "1000000",
        "TBOT_LOG_LEVEL": "WARNING",
        "TBOT_POSTGRES_POOL_SIZE": "24",
        "TBOT_EXECUTION_POLL_SECONDS": "0.1",
        "TBOT_PAPER_BALANCES": '{"USDT": "100000000", "BTC": "1000"}',
        "TBOT_REFERENCE_PRICES": PRICES,  # the paper exchange's price: fills are at a fixed mark
    }
    rates = [args.rate, args.rate / 5]
    results = []
    with fresh_schema(args.database_url, "bench") as postgres:
        settings = changed(postgres, redis={"url": SecretStr(args.redis_url)})
        with api_on(settings, {"bench": "trader"}, **env) as api:
            execution = start_tbot(settings, "execution", "run", **env)
            try:
                bots = started_bots(api, "bench", BOTS, "rt")
                asyncio.run(
                    round_trips(api, args.database_url, postgres.store.postgres_schema, bots, 20, 2)
                )  # warm up
                for rate in rates:
                    print(f"bench_round_trip: {rate:.0f}/s", file=sys.stderr, flush=True)
                    schema = postgres.store.postgres_schema
                    results.append(
                        asyncio.run(round_trips(api, args.database_url, schema, bots, rate, args.seconds))
                    )
            finally:
                stop(execution)
    tps = pgbench_tps(args.database_url, 16, args.seconds)
    print("| measure | figure |")
    print("|---|---|")
    for rate, (latencies, missing, answered) in zip(rates, results, strict=True):
        print(
            f"| market orders offered at a steady {rate:,.0f}/s for {args.seconds} s | HTTP answered "
            f"{answered:,.0f}/s; HTTP to fill visible in positions: {latency_summary(latencies, digits=0)}; "
            f"{missing} not visible within 60 s |"
        )
    print(f"| pgbench single-row insert, 16 clients, same PostgreSQL | {tps:,.0f} tps |")


if __name__ == "__main__":
    main()
