"""What the HTTP benchmarks share: the server under test, bots with limits that never refuse the
load, and how a list of latencies is reported."""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import SecretStr

from tests.support.api import Api, api_on
from tests.support.schemas import fresh_schema
from tests.support.settings import changed


@contextmanager
def bench_api(database_url: str, redis_url: str, serve_args: Sequence[str] = (), **env: str) -> Iterator[Api]:
    """`tbot serve` and a projection worker on a fresh schema with Redis, for the user "bench",
    with no rate limit in the load's way and warnings only in the logs; ``env`` adds settings."""
    env = {"TBOT_RATE_LIMIT_PER_SECOND": "1000000", "TBOT_LOG_LEVEL": "WARNING", **env}
    with (
        fresh_schema(database_url, "bench") as postgres,
        api_on(
            changed(postgres, redis={"url": SecretStr(redis_url)}),
            {"bench": "trader"},
            serve_args=serve_args,
            **env,
        ) as api,
    ):
        yield api


LIMITS = {
    "max_order_notional": "1000000",
    "max_position_notional": "1000000000",
    "max_open_orders": 10_000,
    "daily_loss_limit": "1000000",
    "price_band_pct": "0.05",
    "max_orders_per_minute": 100_000,
}


def started_bots(
    api: Api,
    user: str,
    count: int,
    prefix: str,
    strategy: str = "manual",
    params: dict[str, Any] | None = None,
) -> list[str]:
    """``count`` running BTC/USDT bots of ``user`` with ``strategy``, made over HTTP."""
    with httpx.Client(base_url=api.base_url, headers={"X-API-Key": api.keys[user]}, timeout=30) as http:
        bots = []
        for n in range(count):
            body = {
                "name": f"{prefix}{n}",
                "strategy": strategy,
                "params": params or {},
                "allowed_symbols": ["BTC/USDT"],
                "limits": LIMITS,
            }
            created = http.post("/v1/bots", json=body)
            assert created.status_code == 201, created.text
            bots.append(created.json()["id"])
            assert http.post(f"/v1/bots/{bots[-1]}/start").status_code == 200
    return bots


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency_summary(latencies: list[float], digits: int = 1) -> str:
    """p50 and p99 in milliseconds of latencies in seconds."""
    ms = [v * 1000 for v in latencies]
    return f"p50 {statistics.median(ms):.{digits}f} ms, p99 {percentile(ms, 0.99):.{digits}f} ms"
