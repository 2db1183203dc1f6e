"""PlaceOrder over HTTP driven by wrk, a load generator written in C: one `tbot serve` process and
its projection worker on PostgreSQL and Redis, durable (synchronous commit on), risk checks on.

1. 16 connections (closed loop): commands/s, p50 and p99, next to pgbench's single-row-insert tps
   at 16 clients on the same PostgreSQL in the same run.
2. Overload: 256 connections for ``--overload-seconds`` (30), far more than the server's places
   for commands: the commands accepted per second, those refused with 503 overloaded, the latency
   of all answers, the server processes' peak memory, and whether every accepted order is in the
   event store (each `Order.Placed` counted there against wrk's count of 201 answers).

Both with one API process and with two (`tbot serve --workers 2`).

Every request has its own client order id (the Lua script numbers them per thread, under a tag of
the run's own), so none is a repeat. wrk, the server, its worker, PostgreSQL and Redis share the
same two cores.

Usage: python -m tests.benchmarks.bench_http_wrk DATABASE_URL REDIS_URL [--seconds N]
       [--in-flight N] [--processes 1,2]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
from psycopg import sql

from tests.benchmarks.bench_place_order import pgbench_tps
from tests.benchmarks.http_load import bench_api, started_bots
from tests.support.api import Api

BOTS = 64
SCRIPT = """
local counter = 0
local bots = {%(bots)s}
local headers = {["Content-Type"] = "application/json", ["X-API-Key"] = "%(key)s"}
local threads = {}
accepted, refused, other = 0, 0, 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local bot = bots[(counter %% #bots) + 1]
  local body = string.format(
    '{"symbol":"BTC/USDT","side":"buy","order_type":"market","quantity":"0.001","client_order_id":"%(run)s-%%d-%%d"}',
    id, counter)
  return wrk.format("POST", "/v1/bots/" .. bot .. "/orders", headers, body)
end

function response(status)
  if status == 201 then accepted = accepted + 1
  elseif status == 503 then refused = refused + 1
  else other = other + 1 end
end

function done(summary, latency)
  local a, r, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted"); r = r + thread:get("refused"); o = o + thread:get("other")
  end
  io.write(string.format(
    'RESULT {"seconds": %%f, "accepted": %%d, "refused": %%d, "other": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d, "errors": %%d}\\n',
    summary.duration / 1e6, a, r, o, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass(frozen=True)
class Run:
    connections: int
    seconds: float
    accepted: int
    refused: int
    other: int
    p50_ms: float
    p99_ms: float
    errors: int
    recorded: int = 0  # orders placed in the event store during the run
    peak_rss_mib: float = 0.0  # the largest any server process was, at the end of the run

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.seconds


def wrk(api: Api, bots: list[str], connections: int, seconds: int) -> Run:
    script = SCRIPT % {
        "bots": ", ".join(f'"{b}"' for b in bots),
        "key": api.keys["bench"],
        "run": uuid.uuid4().hex[:8],  # ids of their own in every run: none is a repeat of an earlier one
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                file.name,
                api.base_url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(file.name).unlink()
    match = re.search(r"RESULT (\{.*\})", out)
    assert match, out
    found = json.loads(match.group(1))
    return Run(
        connections,
        found["seconds"],
        found["accepted"],
        found["refused"],
        found["other"],
        found["p50_us"] / 1000,
        found["p99_us"] / 1000,
        found["errors"],
    )


def placed_orders(database_url: str, api: Api) -> int:
    """How many orders the API's event store holds."""
    assert api.settings is not None
    schema = api.settings.store.postgres_schema
    with psycopg.connect(database_url, autocommit=True) as conn:
        query = sql.SQL("SELECT count(*) FROM {}.tbot_events WHERE topic = 'domain.order:Order.Placed'")
        row = conn.execute(query.format(sql.Identifier(schema))).fetchone()
    assert row is not None
    return int(row[0])


def server_peak_rss_mib(api: Api) -> float:
    """The high-water mark of resident memory of the server processes (the parent and its
    children with --workers)."""
    assert api.server is not None
    pids = [
        api.server.pid,
        *map(int, Path(f"/proc/{api.server.pid}/task/{api.server.pid}/children").read_text().split()),
    ]
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def measured(args: argparse.Namespace, processes: int) -> tuple[Run, Run]:
    """The steady and the overloaded run against `tbot serve --workers PROCESSES`."""
    env = {"TBOT_POSTGRES_POOL_SIZE": "40"}  # a connection for every command in flight
    if args.in_flight is not None:
        env["TBOT_API_MAX_COMMANDS_IN_FLIGHT"] = str(args.in_flight)
    serve_args = ("--workers", str(processes))
    with bench_api(args.database_url, args.redis_url, serve_args, **env) as api:
        bots = started_bots(api, "bench", BOTS, "w")
        wrk(api, bots, 16, 2)  # warm up
        steady = wrk(api, bots, 16, args.seconds)
        before = placed_orders(args.database_url, api)
        overloaded = wrk(api, bots, 256, args.overload_seconds)
        recorded = placed_orders(args.database_url, api) - before
        return steady, replace(overloaded, recorded=recorded, peak_rss_mib=server_peak_rss_mib(api))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("redis_url")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--overload-seconds", type=int, default=30)
    parser.add_argument(
        "--in-flight", type=int, help="TBOT_API_MAX_COMMANDS_IN_FLIGHT (default: the setting's)"
    )
    parser.add_argument("--processes", default="1,2", help="`tbot serve --workers` values to measure")
    args = parser.parse_args()
    runs = {n: measured(args, n) for n in [int(p) for p in args.processes.split(",")]}
    tps = pgbench_tps(args.database_url, 16, args.seconds)
    print(
        "| API processes | load (wrk, 2 threads) | accepted/s | refused 503/s | other answers | p50 | p99 "
        "| pgbench tps, 16 clients |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for processes, pair in runs.items():
        for run in pair:
            print(
                f"| {processes} | {run.connections} connections, {run.seconds:.0f} s "
                f"| {run.accepted_per_second:,.0f} | {run.refused / run.seconds:,.0f} "
                f"| {run.other + run.errors} | {run.p50_ms:.1f} ms | {run.p99_ms:.1f} ms | {tps:,.0f} |"
            )
    for processes, (_, overloaded) in runs.items():
        print(
            f"\nOverloaded, {processes} process(es): {overloaded.accepted:,} accepted (201), "
            f"{overloaded.recorded:,} orders recorded in the event store (more: answers wrk did not wait "
            "for when it stopped); server peak memory "
            f"{overloaded.peak_rss_mib:,.0f} MiB per process at most."
        )


if __name__ == "__main__":
    main()
