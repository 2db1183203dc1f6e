"""Commands on one bot take turns within a process: 16 threads of one process placing, accepting
and filling orders of ONE bot on PostgreSQL never conflict with each other (zero retries), and the
ledger adds up. A second process (here: a second store and bus on the same database) can still
conflict, and its commands retry and succeed."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from uuid import UUID

import pytest

from domain.bot import Bot
from domain.ids import position_id_for
from domain.order import Order
from domain.position import Position
from infrastructure.settings import Settings
from tests.support.conflicts import Conflicts
from tests.support.world import BTC, LIMITS, World, world_on

THREADS, PER_THREAD = 16, 6
QUANTITY = Decimal("0.001")
BUSY = {
    **LIMITS,
    "max_open_orders": 10_000,
    "max_orders_per_minute": 100_000,
    "max_position_notional": "100000000",
}


@pytest.fixture
def conflicts() -> Conflicts:
    return Conflicts()


@pytest.fixture
def counted_world(postgres_settings: Settings, conflicts: Conflicts) -> Iterator[World]:
    with world_on(postgres_settings, conflicts=conflicts) as world:
        yield world


def trade(world: World, bot_id: UUID, thread: int, start: threading.Barrier) -> None:
    """Places, accepts and fills orders one after another, buying and selling in turn."""
    start.wait()
    for i in range(PER_THREAD):
        side = "buy" if i % 2 == 0 else "sell"
        order_id = world.place(bot_id, f"t{thread}-{i}", side, str(QUANTITY))
        world.accept(order_id)
        world.fill(order_id, f"x{thread}-{i}", str(QUANTITY), "50000")


def test_threads_of_one_process_never_conflict_on_one_bot(counted_world: World, conflicts: Conflicts) -> None:
    world = counted_world
    bot_id = world.running_bot(limits=BUSY, symbols=["BTC/USDT"])
    start = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        for done in [pool.submit(trade, world, bot_id, t, start) for t in range(THREADS)]:
            done.result()

    assert conflicts.retries == Counter() and conflicts.give_ups == Counter()
    bot = world.store.load(Bot, bot_id)
    position = world.store.load(Position, position_id_for(bot.bot_id, str(BTC)))
    assert bot.open_orders == {}
    assert bot.positions[str(BTC)] == position.quantity == 0  # as many sells as buys
    names = world.event_names(0)
    orders = THREADS * PER_THREAD
    assert names.count("Bot.OrderAdmitted") == names.count("Bot.FillBooked") == orders
    assert names.count("Order.Filled") == names.count("Position.FillApplied") == orders


def test_a_writer_in_another_process_still_conflicts_and_is_retried(
    counted_world: World, conflicts: Conflicts, postgres_settings: Settings
) -> None:
    world = counted_world
    bot_id = world.running_bot(limits=BUSY, symbols=["BTC/USDT"])
    with world_on(postgres_settings, conflicts=conflicts) as other:  # its own cache and turns
        start = threading.Barrier(THREADS)
        with ThreadPoolExecutor(THREADS) as pool:
            futures = [
                pool.submit(trade, world if t % 2 else other, bot_id, t, start) for t in range(THREADS)
            ]
            for done in futures:
                done.result()

    assert sum(conflicts.retries.values()) > 0 and conflicts.give_ups == Counter()
    bot = world.store.load(Bot, bot_id)
    assert bot.open_orders == {} and bot.positions[str(BTC)] == 0
    assert len(bot.open_order_ids()) == 0
    filled = [e for e in world.new_events(0) if isinstance(e, Order.Filled)]
    assert len(filled) == THREADS * PER_THREAD
