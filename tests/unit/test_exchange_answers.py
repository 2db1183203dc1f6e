"""Given/when/then for an exchange's answer recorded as one command: accepted, its new trades and
how it ended, in one transaction; never ended before the recorded fills reach the exchange's."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from application import commands as c
from application.errors import InvalidInput
from domain.bot import Bot
from domain.order import Order
from domain.order_states import OrderStatus
from tests.support.world import World

EXCHANGE = "exchange"


def _submitted(world: World) -> tuple[UUID, UUID]:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "a-1", "buy", "0.2", "50000")
    world.bus.dispatch(c.RecordOrderSubmitted(actor=EXCHANGE, order_id=order_id))
    return bot_id, order_id


def _answer(order_id: UUID, outcome: str, filled: str, *trades: tuple[str, str]) -> c.RecordExchangeAnswer:
    return c.RecordExchangeAnswer(
        actor=EXCHANGE,
        order_id=order_id,
        exchange_order_id="X-1",
        outcome=outcome,
        filled=filled,
        trades=tuple(c.ReportedTrade(trade_id=t, quantity=q, price="50000") for t, q in trades),
    )


def test_accepted_trades_and_cancel_are_recorded_together(world: World) -> None:
    bot_id, order_id = _submitted(world)
    before = world.store.last_position()
    ack = world.bus.dispatch(_answer(order_id, "cancelled", "0.15", ("t1", "0.05"), ("t2", "0.1")))
    assert (ack.status, ack.filled, ack.complete, ack.changed) == ("cancelled", Decimal("0.15"), True, True)
    assert world.event_names(before) == [  # one transaction, each aggregate's events in turn
        "Order.Accepted",
        "Order.Filled",
        "Order.Filled",
        "Order.Cancelled",
        "Position.Opened",
        "Position.FillApplied",
        "Position.FillApplied",
        "Bot.FillBooked",
        "Bot.FillBooked",
        "Bot.OrderReleased",
    ]
    assert ack.position == world.store.last_position()
    assert world.store.load(Bot, bot_id).open_orders == {}


def test_an_answer_with_trades_missing_does_not_end_the_order(world: World) -> None:
    _, order_id = _submitted(world)
    ack = world.bus.dispatch(_answer(order_id, "expired", "0.15", ("t1", "0.05")))
    assert (ack.status, ack.complete) == ("part_filled", False)
    ack = world.bus.dispatch(_answer(order_id, "expired", "0.15", ("t1", "0.05"), ("t2", "0.1")))
    order = world.store.load(Order, order_id)
    assert (order.status, order.trade_ids, ack.complete) == (OrderStatus.EXPIRED, ["t1", "t2"], True)


def test_a_repeated_answer_appends_nothing(world: World) -> None:
    _, order_id = _submitted(world)
    world.bus.dispatch(_answer(order_id, "open", "0.05", ("t1", "0.05")))
    before = world.store.last_position()
    ack = world.bus.dispatch(_answer(order_id, "open", "0.05", ("t1", "0.05")))
    assert not ack.changed and world.new_events(before) == []


def test_an_unknown_outcome_is_refused_naming_the_field(world: World) -> None:
    _, order_id = _submitted(world)
    with pytest.raises(InvalidInput) as refused:
        world.bus.dispatch(_answer(order_id, "gone", "0"))
    assert refused.value.field == "outcome"
