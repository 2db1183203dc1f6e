"""A copy of a bot (what every command changes) shares its ledger's frozen entries instead of copying
each one, and whatever is done to the copy leaves the original as it was."""

from __future__ import annotations

from copy import deepcopy
from decimal import Decimal
from typing import Any
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.bot import Bot
from domain.ids import DenialId, OrderId, user_id
from domain.orders import parse_order_request
from domain.risk import ReasonCode
from domain.values import EventMeta, Stamp
from tests.support.world import ACTOR, BTC, LIMITS, World

OPERATIONS = st.lists(st.sampled_from(["admit", "deny", "fill", "release", "trip"]), max_size=12)


def busy_bot(world: World, orders: int = 6) -> Bot:
    bot_id = world.running_bot(limits={**LIMITS, "max_open_orders": 100})
    for n in range(orders):
        order_id = world.place(bot_id, f"o{n}", "buy" if n % 2 else "sell", "0.001")
        if n % 3 == 0:
            world.accept(order_id)
            world.fill(order_id, f"x{n}", "0.0005", "50000")
    return world.store.load(Bot, bot_id)


def state(bot: Bot) -> dict[str, Any]:
    return {name: repr(value) for name, value in vars(bot).items()}


def change(bot: Bot, operation: str, n: int, world: World) -> None:
    """One of the ledger's changes, through the bot's own methods (as a command makes them)."""
    at = Stamp(world.clock.now(), EventMeta(user_id(ACTOR), "c", "c"))
    request = parse_order_request(
        client_order_id=f"new{n}", symbol="BTC/USDT", side="buy", order_type="market", quantity="0.001"
    )
    if operation == "admit":
        bot.admit_order(OrderId(uuid4()), request, Decimal(50000), at)
    elif operation == "deny":
        bot.deny_order(DenialId(uuid4()), request, [ReasonCode.MAX_POSITION], Decimal(50000), at)
    elif operation == "fill" and bot.open_order_ids():
        bot.book_fill(bot.open_order_ids()[0], BTC, Decimal("-0.0001"), Decimal(-1), at)
    elif operation == "release" and bot.open_order_ids():
        bot.release_order(bot.open_order_ids()[-1], "cancelled", at)
    elif operation == "trip":
        bot.trip_kill_switch("test", at)


def test_a_copy_shares_the_ledger_entries_but_not_the_containers(world: World) -> None:
    bot = busy_bot(world)
    copied = deepcopy(bot)
    assert state(copied) == state(bot)
    assert bot.open_orders and copied.open_orders is not bot.open_orders
    for key, entry in bot.open_orders.items():
        assert copied.open_orders[key] is entry  # shared, not copied one by one
    assert copied.recent_orders is not bot.recent_orders
    assert copied.positions is not bot.positions and copied.recent_denials is not bot.recent_denials
    assert copied.limits == bot.limits and copied.params == bot.params


def test_changing_a_copy_leaves_the_original_as_it_was(world: World) -> None:
    bot = busy_bot(world)
    before = state(bot)

    @settings(max_examples=50, deadline=None)
    @given(operations=OPERATIONS)
    def copy_and_change(operations: list[str]) -> None:
        copied = deepcopy(bot)
        for n, operation in enumerate(operations):
            change(copied, operation, n, world)
        assert state(bot) == before
        assert not bot.pending_events

    copy_and_change()
