"""Read-side benchmarks on PostgreSQL (and Redis), printed next to the machine's own limits
measured in the same run:

1. rebuild of all six SQL projections from N generated events (default 1,000,000: bots, orders,
   fills, cancels, denials), in events/s, next to the raw ordered read-and-decode rate of the same
   events (select_notifications + the mapper, nothing else);
2. live lag: commit-to-read-model p50/p99 while events are appended at a steady rate (default
   1,000 events/s), for the SQL read models and for the Redis live model.

Usage: python -m tests.benchmarks.bench_read_side DATABASE_URL REDIS_URL [--events N] [--rate R]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid

from dependency_injector import providers
from pydantic import SecretStr
from sqlalchemy import text

from infrastructure.event_store import create_tables, open_store
from infrastructure.read_store.schemas import quoted
from infrastructure.settings import RedisSettings, Settings, StoreSettings
from interfaces.composition import Container
from interfaces.rebuild_processes import ProcessPartitions, default_processes
from interfaces.workers.projections import projection_worker
from projections.engine.memory import collect_per_batch
from projections.engine.rebuild import Rebuilder
from projections.models.catalog import ALL_NAMES, SQL_NAMES
from tests.support.generate import Generator


def _container(settings: Settings) -> Container:
    container = Container()
    container.settings.override(providers.Object(settings))
    return container


def raw_decode_rate(container: Container, page: int = 20_000) -> tuple[float, float]:
    """(notifications/s read in order, events/s read and decoded) over the whole store, in one
    process, with the same garbage-collector treatment as a rebuild."""
    reader = container.reader()
    with collect_per_batch() as collect:
        started, position = time.perf_counter(), 0
        while notifications := reader.notifications(position, page):
            position = notifications[-1].id
            del notifications
            collect()
        read_only = position / (time.perf_counter() - started)
        started, position = time.perf_counter(), 0
        while envelopes := reader.read(position, page):
            position = envelopes[-1].position
            del envelopes
            collect()
    return read_only, position / (time.perf_counter() - started)


def bench_rebuild(settings: Settings, events: int) -> None:
    create_tables(settings)
    container = _container(settings)
    read_models = container.read_models()
    read_models.install()
    started = time.perf_counter()
    Generator(open_store(settings), bots=200, seed=11, owners=20).run(events, per_transaction=2000)
    head = container.reader().head()
    print(f"generated {head:,} events in {time.perf_counter() - started:.0f} s")
    read_only, decoded = raw_decode_rate(container)
    serial = Rebuilder(container.reader(), read_models).rebuild(SQL_NAMES)
    processes = default_processes(settings)
    report = Rebuilder(
        container.reader(),
        read_models,
        partitions=ProcessPartitions(settings),
        processes=processes,
    ).rebuild(SQL_NAMES)
    with read_models.engine.connect() as conn:
        counts = {
            name: conn.execute(text(f"SELECT count(*) FROM {quoted(conn, name)}")).scalar_one()
            for name in ("orders", "fills", "pnl", "risk_decisions")
        }
    print(f"rows: {counts}")
    print(f"| raw ordered read (select_notifications), no decoding | {read_only:,.0f} events/s |")
    print(f"| raw ordered read and decode (the machine's limit here) | {decoded:,.0f} events/s |")
    for label, run in (("in one process", serial), (f"in {processes} processes (as the CLI does)", report)):
        print(
            f"| rebuild of all six SQL projections, {label} | {run.events_per_second:,.0f} events/s "
            f"({run.events:,} events in {run.seconds:.1f} s; {run.events_per_second / decoded:.0%} "
            "of read-and-decode in one process) |"
        )


def bench_live_lag(settings: Settings, rate: int, seconds: float) -> None:
    create_tables(settings)
    container = _container(settings)
    read_models = container.read_models()
    read_models.install()
    generator = Generator(open_store(settings), bots=20, seed=5)
    worker = projection_worker(container, ALL_NAMES)
    runner = threading.Thread(target=worker.run)
    runner.start()
    committed: dict[int, float] = {}
    applied_sql: dict[int, float] = {}
    applied_live: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        live = container.live_store()
        with read_models.engine.connect() as conn:
            while not done.is_set():
                sql_position = conn.execute(
                    text(f"SELECT min(position) FROM {quoted(conn, 'projection_tracking')}")
                ).scalar_one()
                conn.commit()
                now = time.perf_counter()
                applied_sql.setdefault(int(sql_position), now)
                applied_live.setdefault(live.bound().position(), now)
                time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(1)
    store = generator.store
    started = time.perf_counter()
    sent = 0
    while time.perf_counter() - started < seconds:
        target = started + sent / rate
        pause = target - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        before = generator.history.events
        generator.run(8, per_transaction=8)
        committed[store.last_position()] = time.perf_counter()
        sent += generator.history.events - before
    time.sleep(2)
    done.set()
    watcher.join()
    worker.stop()
    runner.join()
    achieved = sent / seconds
    for name, applied in (("SQL read models (all six)", applied_sql), ("Redis live model", applied_live)):
        lags = _lags(committed, applied)
        print(
            f"| live lag, {name}, {achieved:,.0f} events/s | p50 {statistics.median(lags) * 1000:.1f} ms, "
            f"p99 {statistics.quantiles(lags, n=100)[98] * 1000:.1f} ms ({len(lags)} commits) |"
        )


def _lags(committed: dict[int, float], applied: dict[int, float]) -> list[float]:
    """For each commit, the time until a read-model position at or past it was first seen."""
    seen = sorted(applied.items())
    lags = []
    for position, at in committed.items():
        first = next(t for p, t in seen if p >= position)
        lags.append(max(0.0, first - at))
    return lags


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("redis_url")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    def settings() -> Settings:
        return Settings(
            store=StoreSettings(
                database_url=args.database_url, postgres_schema=f"bench_{uuid.uuid4().hex[:8]}"
            ),
            redis=RedisSettings(url=SecretStr(args.redis_url)),
        )

    print("| measure | figure |\n|---|---|")
    bench_rebuild(settings(), args.events)
    bench_live_lag(settings(), args.rate, args.seconds)


if __name__ == "__main__":
    main()
