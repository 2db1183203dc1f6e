"""Projection workers as real processes on PostgreSQL and Redis: killed mid-batch, raced by 16
writers, two at once with one killed, and rebuilt while queries run."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from uuid import UUID

import psycopg
import pytest
from sqlalchemy import text

from application.errors import OrderDenied
from domain.bot import Bot
from domain.order import Order
from infrastructure.event_store import open_store
from infrastructure.group_commit import GroupCommit
from infrastructure.ownership import LOCK_CLASS
from infrastructure.read_store.schemas import quoted
from infrastructure.settings import Settings
from interfaces.workers.projections import projection_worker
from projections.engine.rebuild import Rebuilder
from projections.models.catalog import ALL_NAMES
from tests.support.generate import Generator
from tests.support.processes import start_tbot, stop, tbot, wait_for
from tests.support.read_side import ReadSide, read_side_on
from tests.support.settings import changed
from tests.support.world import LIMITS, world_on

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_redis_settings: Settings) -> Settings:
    return changed(postgres_redis_settings, store={"postgres_pool_size": 20})


@pytest.fixture
def read_side(settings: Settings) -> Iterator[ReadSide]:
    with read_side_on(settings) as rs:
        yield rs


def _generate(settings: Settings, events: int, seed: int = 7) -> Generator:
    store = open_store(settings)
    generator = Generator(store, bots=12, seed=seed)
    generator.run(events)
    return generator


def _positions(rs: ReadSide) -> dict[str, int]:
    with rs.read_models.engine.connect() as conn:
        found = {t.name: t.position for t in rs.read_models.tracking(conn)}
    found["live"] = rs.live_store.position()
    return found


def _caught_up(rs: ReadSide) -> bool:
    head = rs.reader.head()
    return all(position == head for position in _positions(rs).values())


def _open_write_transactions(postgres_url: str, application: str) -> int:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND backend_xid IS NOT NULL",
            (application,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_worker_killed_mid_batch_resumes_to_models_equal_to_a_fresh_rebuild(
    settings: Settings, read_side: ReadSide, postgres_url: str
) -> None:
    _generate(settings, 30_000).store.close()
    worker = start_tbot(
        settings, "projections", "run", PGAPPNAME="crash-worker", TBOT_PROJECTION_BATCH_SIZE="300"
    )
    try:
        wait_for(lambda: _open_write_transactions(postgres_url, "crash-worker") > 0, 60, "a batch in flight")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        stop(worker)
    head = read_side.reader.head()
    assert min(_positions(read_side).values()) < head, "the worker finished before it was killed"

    restarted = start_tbot(settings, "projections", "run")
    try:
        wait_for(lambda: _caught_up(read_side), 120, "the restarted worker to catch up")
    finally:
        stop(restarted)

    verified = tbot(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "no drift" in verified.stdout
    feed = read_side.live_store.feed_window(0, head + 10).entries
    assert [int(entry["position"]) for entry in feed] == list(range(1, head + 1))


@pytest.mark.parametrize("group_commit", [True, False], ids=["group-commit", "one-per-command"])
def test_sixteen_writers_and_a_tailing_projection_miss_nothing_and_repeat_nothing(
    settings: Settings, read_side: ReadSide, group_commit: bool
) -> None:
    """With group commit the sixteen writers' commands share transactions (the test checks they
    did); without, each command is its own."""
    names = ["bots", "orders", "risk_decisions", "live"]
    worker = projection_worker(read_side.container, names)
    worker.job.batch_size = 7
    tail = threading.Thread(target=worker.run)
    tail.start()
    placed: dict[UUID, int] = {}
    try:
        with world_on(changed(settings, store={"group_commit": group_commit})) as world:
            bots = [world.running_bot(limits={**LIMITS, "max_open_orders": 100}) for _ in range(16)]
            errors: list[BaseException] = []

            def trade(bot: UUID, n: int) -> None:
                try:
                    for i in range(25):
                        order = world.place(
                            bot, f"o{n}-{i}", "buy" if i % 2 else "sell", "0.001", price="50000"
                        )
                        if i % 3 == 0:
                            world.accept(order)
                except (BaseException, OrderDenied) as error:  # pragma: no cover - reported below
                    errors.append(error)

            threads = [threading.Thread(target=trade, args=(bot, n)) for n, bot in enumerate(bots)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            recorder = world.store.events.recorder
            assert isinstance(recorder, GroupCommit) == group_commit
            if isinstance(recorder, GroupCommit):
                assert recorder.batches < recorder.saves, "no two commands shared a transaction"
            wait_for(
                lambda: all(p == world.store.last_position() for p in _tails(read_side, names)), 60, "tail"
            )
            for bot in bots:
                placed[bot] = world.store.load(Bot, bot).version
            orders = {o["order_id"]: o for o in read_side.typed_rows("orders", "order_id")}
            assert len(orders) == 16 * 25
            for order_id, row in orders.items():
                assert row["version"] == world.store.load(Order, order_id).version
    finally:
        worker.stop()
        tail.join()
    assert worker.job.failed == {}
    bot_rows = read_side.typed_rows("bots", "bot_id")
    assert {row["bot_id"]: row["version"] for row in bot_rows} == placed
    assert {row["orders_admitted"] for row in bot_rows} == {25}
    assert len(read_side.typed_rows("risk_decisions", "decision_id")) == 16 * 25
    head = read_side.reader.head()
    feed = read_side.live_store.feed_window(0, head + 10).entries
    assert [int(e["position"]) for e in feed] == list(range(1, head + 1))


def _tails(rs: ReadSide, names: list[str]) -> list[int]:
    positions = _positions(rs)
    return [positions[name] for name in names]


def _holders(postgres_url: str) -> dict[str, int]:
    """Application name of each process holding a tbot advisory lock, and how many it holds."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT a.application_name, count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s "
            "AND a.application_name IN ('worker-1', 'worker-2') GROUP BY a.application_name",
            (LOCK_CLASS,),
        ).fetchall()
    return {name: int(count) for name, count in rows}


def test_two_workers_share_the_projections_and_one_takes_over_when_the_other_dies(
    settings: Settings, read_side: ReadSide, postgres_url: str
) -> None:
    first = start_tbot(settings, "projections", "run", PGAPPNAME="worker-1")
    wait_for(
        lambda: _holders(postgres_url).get("worker-1") == len(ALL_NAMES), 30, "worker 1 to hold every lock"
    )
    second = start_tbot(settings, "projections", "run", PGAPPNAME="worker-2")
    try:
        generator = _generate(settings, 3000)
        wait_for(lambda: _caught_up(read_side), 60, "the projections to catch up")
        assert _holders(postgres_url) == {"worker-1": len(ALL_NAMES)}, "each projection has one holder"
        _assert_counted_once(read_side, generator)

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        wait_for(
            lambda: _holders(postgres_url).get("worker-2") == len(ALL_NAMES), 30, "worker 2 to take over"
        )
        generator.run(3000)
        wait_for(lambda: _caught_up(read_side), 60, "worker 2 to catch up")
        _assert_counted_once(read_side, generator)
    finally:
        stop(first)
        stop(second)
    generator.store.close()


def _assert_counted_once(rs: ReadSide, generator: Generator) -> None:
    bots = rs.typed_rows("bots", "bot_id")
    assert sum(row["orders_admitted"] for row in bots) == generator.history.orders
    assert sum(row["orders_denied"] for row in bots) == generator.history.denials
    assert sum(row["fills"] for row in bots) == generator.history.fills
    assert len(rs.typed_rows("fills", "event_position")) == generator.history.fills
    expected = {p.id: (p.quantity, p.realized_pnl) for p in generator.positions.values()}
    rows = rs.typed_rows("positions", "position_id")
    assert {row["position_id"]: (row["quantity"], row["realized_pnl"]) for row in rows} == expected


def test_queries_during_a_rebuild_see_the_whole_old_model_then_the_whole_new_one(
    settings: Settings, read_side: ReadSide
) -> None:
    generator = _generate(settings, 20_000)
    assert read_side.catch_up() == {}
    expected = (generator.history.orders, generator.history.fills)
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def query() -> None:
        with read_side.read_models.engine.connect() as conn:
            while not done.is_set():
                with conn.begin():
                    orders = conn.execute(text(f"SELECT count(*) FROM {quoted(conn, 'orders')}")).scalar_one()
                    fills = conn.execute(text(f"SELECT count(*) FROM {quoted(conn, 'fills')}")).scalar_one()
                seen.append((orders, fills))

    reader = threading.Thread(target=query)
    reader.start()
    try:
        report = Rebuilder(read_side.reader, read_side.read_models, batch_size=1000).rebuild(
            ["orders", "fills"]
        )
    finally:
        done.set()
        reader.join()
    assert report.events == read_side.reader.head()
    assert len(seen) > 20
    assert set(seen) == {expected}
    with read_side.read_models.engine.connect() as conn:
        generations = {t.name: t.generation for t in read_side.read_models.tracking(conn)}
        tables = set(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s"),
                {"s": settings.store.postgres_schema},
            )
            .scalars()
            .all()
        )
    assert generations["orders"] == generations["fills"] == 2
    assert {"orders_g2", "fills_g2"} <= tables and not {"orders_g1", "fills_g1"} & tables
    generator.store.close()
