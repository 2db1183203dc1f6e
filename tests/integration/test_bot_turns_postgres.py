"""Commands on one bot take turns: 16 threads placing, accepting and filling orders of ONE bot on
PostgreSQL never conflict with each other (zero retries), whether they run in one process or in
two (here: two stores and buses on the same database, each with its own cache and turns), and the
ledger adds up. A writer outside the turns still meets the event store's version check: its
command is retried on the latest state."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.errors import BotBusy
from domain.bot import Bot
from domain.ids import position_id_for
from domain.order import Order
from domain.position import Position
from infrastructure.bot_turns import open_bot_turns
from infrastructure.settings import Settings
from tests.support.conflicts import Conflicts
from tests.support.settings import changed
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


def assert_ledger_adds_up(world: World, bot_id: UUID) -> None:
    bot = world.store.load(Bot, bot_id)
    position = world.store.load(Position, position_id_for(bot.bot_id, str(BTC)))
    assert bot.open_orders == {}
    assert bot.positions[str(BTC)] == position.quantity == 0  # as many sells as buys
    names = world.event_names(0)
    orders = THREADS * PER_THREAD
    assert names.count("Bot.OrderAdmitted") == names.count("Bot.FillBooked") == orders
    assert names.count("Order.Filled") == names.count("Position.FillApplied") == orders


def test_threads_of_one_process_never_conflict_on_one_bot(counted_world: World, conflicts: Conflicts) -> None:
    world = counted_world
    bot_id = world.running_bot(limits=BUSY, symbols=["BTC/USDT"])
    start = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        for done in [pool.submit(trade, world, bot_id, t, start) for t in range(THREADS)]:
            done.result()

    assert conflicts.retries == Counter() and conflicts.give_ups == Counter()
    assert_ledger_adds_up(world, bot_id)


def test_writers_in_two_processes_take_turns_and_never_conflict(
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

    assert conflicts.retries == Counter() and conflicts.give_ups == Counter()
    assert_ledger_adds_up(world, bot_id)


def test_a_writer_outside_the_turns_conflicts_and_the_command_is_retried_on_the_latest_state(
    counted_world: World, conflicts: Conflicts, postgres_settings: Settings
) -> None:
    world = counted_world
    bot_id = world.running_bot(limits=BUSY, symbols=["BTC/USDT"])
    with world_on(postgres_settings, shared_turns=False) as outsider:
        outsider.place(bot_id, "warm", "buy", str(QUANTITY))  # the outsider has the bot cached
        save = world.store.save
        interrupted: list[Any] = []

        def save_after_the_outsider(*aggregates: Any, **kwargs: Any) -> Any:
            """The first save finds the outsider's order placed between its load and its write."""
            if not interrupted:
                interrupted.append(outsider.place(bot_id, "between", "buy", str(QUANTITY)))
            return save(*aggregates, **kwargs)

        world.store.save = save_after_the_outsider  # type: ignore[method-assign]
        world.place(bot_id, "mine", "buy", str(QUANTITY))

    assert conflicts.retries == Counter({"PlaceOrder": 1}) and conflicts.give_ups == Counter()
    bot = world.store.load(Bot, bot_id)
    assert bot.exposure(BTC).open_buy == 3 * QUANTITY  # warm, between and mine: none lost
    placed = [e for e in world.new_events(0) if isinstance(e, Order.Placed)]
    assert [e.request.client_order_id for e in placed] == ["warm", "between", "mine"]


def test_a_turn_held_too_long_elsewhere_ends_the_command_as_busy_with_nothing_written(
    postgres_settings: Settings,
) -> None:
    impatient = changed(postgres_settings, store={"bot_turn_wait_seconds": 0.2})
    elsewhere = open_bot_turns(impatient)  # another process's turns
    assert elsewhere is not None
    with world_on(impatient) as world:
        bot_id = world.running_bot(limits=BUSY, symbols=["BTC/USDT"])
        before = world.store.last_position()
        with elsewhere.hold(bot_id), pytest.raises(BotBusy, match="busy"):
            world.place(bot_id, "late", "buy", str(QUANTITY))
        assert world.store.last_position() == before
        world.place(bot_id, "in-turn", "buy", str(QUANTITY))  # the turn is free again
