"""Signal text to entry order recorded, over HTTP: `POST /v1/bots/{id}/signals` on one `tbot serve`
and its projection worker (PostgreSQL, durable, Redis), each answer given once the signal, the
bot's risk decision and the entry order are in the event store. Next to it, in the same run: the
same server's `POST /v1/bots/{id}/orders` (the command floor a signal adds its reading to), the
rule parser alone in this process, and pgbench's single-row insert at one client (the database's
own floor).

1. One client, one request after another (closed loop): p50 and p99 of each.
2. Signals offered at a steady rate (open loop, each request's clock starting at its slot).

Usage: python -m tests.benchmarks.bench_signals DATABASE_URL REDIS_URL [--count N] [--rate R]
       [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

import httpx

from domain.signals import ParsedSignal, parse_signal
from domain.values import Symbol
from tests.benchmarks.bench_place_order import pgbench_tps
from tests.benchmarks.http_load import bench_api, latency_summary, started_bots
from tests.support.api import Api

BOTS = 16
MARKETS = [Symbol("BTC", "USDT"), Symbol("ETH", "USDT"), Symbol("SOL", "USDT")]
MESSAGES = [
    "BTC/USDT LONG now\nSL: 40000\nTP1: 60000 (50%)\nTP2: 65000",
    "🚀 #BTCUSDT LONG 🚀\nEntry: CMP\nTargets: 55000 - 60000 - 65000\nStop: 45000",
    "Client: Binance\nTrade Type: Regular (Long)\nPair: BTC/USDT\nEntry: market\n"
    "Take-Profit Targets:\n1) 55000\n2) 60000\nStop Targets:\n1) 45000",
]


def parse_microseconds(rounds: int = 2000) -> float:
    """The rule parser's time per message, in this process."""
    started = time.perf_counter()
    for n in range(rounds):
        assert isinstance(parse_signal(MESSAGES[n % len(MESSAGES)], MARKETS), ParsedSignal)
    return (time.perf_counter() - started) / rounds * 1e6


def _signal(n: int, tag: str) -> dict[str, str]:
    return {"text": MESSAGES[n % len(MESSAGES)], "source": "bench", "message_id": f"{tag}{n}"}


def _order(n: int, tag: str) -> dict[str, str]:
    return {
        "symbol": "BTC/USDT",
        "side": "buy",
        "order_type": "market",
        "quantity": "0.001",
        "client_order_id": f"{tag}{n}",
    }


def closed_loop(
    api: Api, count: int, path: str, body: Callable[[int], dict[str, str]], bots: list[str]
) -> list[float]:
    """``count`` requests one after another; each one's latency."""
    latencies = []
    with httpx.Client(base_url=api.base_url, headers={"X-API-Key": api.keys["bench"]}, timeout=30) as http:
        for n in range(count):
            started = time.perf_counter()
            answer = http.post(path.format(bot=bots[n % len(bots)]), json=body(n))
            latencies.append(time.perf_counter() - started)
            assert answer.status_code == 201, answer.text
    return latencies


async def open_loop(api: Api, bots: list[str], rate: float, seconds: float) -> list[float]:
    """Signals due every 1/rate seconds, sent whether or not earlier ones were answered; each
    one's latency from its slot."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=2)
    headers = {"X-API-Key": api.keys["bench"]}
    async with httpx.AsyncClient(base_url=api.base_url, headers=headers, timeout=60, limits=limits) as http:

        async def one(due: float, n: int) -> None:
            answer = await http.post(f"/v1/bots/{bots[n % len(bots)]}/signals", json=_signal(n, "open"))
            assert answer.status_code == 201, answer.text
            assert answer.json()["status"] == "executed", answer.text
            latencies.append(time.perf_counter() - due)

        tasks = []
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(due, n)))
        await asyncio.gather(*tasks)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("redis_url")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    parse_us = parse_microseconds()
    with bench_api(args.database_url, args.redis_url) as api:
        signal_bots = started_bots(api, "bench", BOTS, "s", "signals", {"quote_amount": "50"})
        order_bots = started_bots(api, "bench", BOTS, "o")
        closed_loop(api, 50, "/v1/bots/{bot}/signals", lambda n: _signal(n, "warm"), signal_bots)
        signals = closed_loop(
            api, args.count, "/v1/bots/{bot}/signals", lambda n: _signal(n, "s"), signal_bots
        )
        orders = closed_loop(api, args.count, "/v1/bots/{bot}/orders", lambda n: _order(n, "o"), order_bots)
        steady = asyncio.run(open_loop(api, signal_bots, args.rate, args.seconds))
    tps = pgbench_tps(args.database_url, 1, args.seconds)
    print("| measure | figure |")
    print("|---|---|")
    print(f"| rule parser alone, in process | {parse_us:.0f} µs a message |")
    print(f"| signal text to entry order recorded, one client ({args.count}) | {latency_summary(signals)} |")
    print(f"| PlaceOrder over HTTP, one client ({args.count} orders), same run | {latency_summary(orders)} |")
    print(
        f"| signals offered at a steady {args.rate:g}/s for {args.seconds} s, from each one's slot "
        f"| {latency_summary(steady)} ({len(steady)} signals) |"
    )
    print(f"| pgbench single-row insert, 1 client, same PostgreSQL | {tps:,.0f} tps ({1000 / tps:.2f} ms) |")


if __name__ == "__main__":
    main()
