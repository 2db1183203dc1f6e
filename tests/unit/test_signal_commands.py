"""Given/when/then for signal messages sent to a bot that follows signals: read, decided and
traded through the bot's risk rules in one transaction, each outcome recorded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application import commands as c
from application.errors import InvalidInput
from application.results import SignalAck
from domain.order import Order
from domain.order_states import OrderStatus
from domain.signal import Signal
from domain.values import OrderType, Side
from tests.support.world import ACTOR, LIMITS, World

ZONE = "BTC/USDT LONG\nEntry: 49800 - 50000\nSL: 48000\nTP1: 52000\nTP2: 55000"


def signals_bot(
    world: World, params: dict[str, Any] | None = None, limits: dict[str, Any] | None = None
) -> UUID:
    created = world.bus.dispatch(
        c.CreateBot(
            actor=ACTOR,
            name="follows signals",
            strategy="signals",
            params=params or {"quote_amount": "1000"},
            allowed_symbols=["BTC/USDT", "ETH/USDT"],
            limits=limits or LIMITS,
            exchange_account="paper",
        )
    )
    world.bus.dispatch(c.StartBot(actor=ACTOR, bot_id=created.aggregate_id))
    return created.aggregate_id


def send(
    world: World, bot_id: UUID, text: str, message_id: str | None = "m1", source: str = "api"
) -> SignalAck:
    ack: SignalAck = world.bus.dispatch(
        c.ReceiveSignal(actor=ACTOR, bot_id=bot_id, text=text, source=source, message_id=message_id)
    )
    return ack


def orders(world: World, ack: SignalAck) -> list[Order]:
    return [world.store.load(Order, order_id) for order_id in ack.placed]


def test_a_zone_signal_places_an_entry_at_each_end_with_its_stop_and_first_target(world: World) -> None:
    bot_id = signals_bot(world)
    before = world.store.last_position()
    ack = send(world, bot_id, ZONE)
    # one transaction: the signal's events, then the bot's admissions, then the orders
    assert world.event_names(before) == [
        "Signal.Received",
        "Signal.Parsed",
        "Signal.Executed",
        "Bot.OrderAdmitted",
        "Bot.OrderAdmitted",
        "Order.Placed",
        "Order.Placed",
    ]
    assert ack.status == "executed" and ack.changed and ack.position == world.store.last_position()
    placed = orders(world, ack)
    # 1,000 USDT split over the two ends, rounded down to the market's step
    assert [(o.request.price, o.request.quantity) for o in placed] == [
        (Decimal("49800"), Decimal("0.01004")),
        (Decimal("50000"), Decimal("0.01")),
    ]
    for order in placed:
        assert order.request.order_type is OrderType.LIMIT and order.request.side is Side.BUY
        assert (order.request.stop_loss, order.request.take_profit) == (Decimal("48000"), Decimal("52000"))
    signal = world.store.load(Signal, ack.signal_id)
    events = world.new_events(before)
    assert all(
        e.meta.causation_id == f"signal:{signal.id}" for e in events if type(e).__qualname__ == "Order.Placed"
    )
    parsed = events[1]
    assert (parsed.entry_kind, parsed.entries, parsed.take_profits) == (
        "zone",
        [Decimal("49800"), Decimal("50000")],
        [Decimal("52000"), Decimal("55000")],
    )


def test_a_market_signal_places_one_market_order_sized_at_the_reference_price(world: World) -> None:
    bot_id = signals_bot(world)
    ack = send(world, bot_id, "BTC/USDT LONG now SL 48000 TP 52000")
    [order] = orders(world, ack)
    assert order.request.order_type is OrderType.MARKET and order.request.quantity == Decimal("0.02")


def test_the_same_message_twice_is_one_signal(world: World) -> None:
    bot_id = signals_bot(world)
    first = send(world, bot_id, ZONE)
    before = world.store.last_position()
    again = send(world, bot_id, ZONE)
    assert (again.signal_id, again.placed, again.changed) == (first.signal_id, first.placed, False)
    assert world.new_events(before) == []
    other_source = send(world, bot_id, ZONE, source="telegram-1")
    assert other_source.signal_id != first.signal_id


def test_an_edit_before_any_fill_replaces_the_plan(world: World) -> None:
    bot_id = signals_bot(world)
    first = send(world, bot_id, ZONE)
    before = world.store.last_position()
    edited = send(world, bot_id, ZONE.replace("48000", "47500"))
    names = world.event_names(before)
    assert names[:3] == ["Signal.Edited", "Signal.Parsed", "Signal.Executed"]
    assert names.count("Order.Cancelled") == 2 and names.count("Order.Placed") == 2
    assert set(edited.cancelled) == set(first.placed) and set(edited.placed).isdisjoint(first.placed)
    assert all(o.status is OrderStatus.CANCELLED for o in orders(world, first))
    assert {o.request.stop_loss for o in orders(world, edited)} == {Decimal("47500")}
    after = world.store.last_position()
    again = send(world, bot_id, ZONE.replace("48000", "47500"))
    assert again.changed is False and world.new_events(after) == []


def test_an_edit_after_an_entry_filled_is_recorded_and_changes_nothing(world: World) -> None:
    bot_id = signals_bot(world)
    first = send(world, bot_id, ZONE)
    world.accept(first.placed[1])
    world.fill(first.placed[1], "t1", "0.005", "50000")
    before = world.store.last_position()
    edited = send(world, bot_id, ZONE.replace("48000", "47500"))
    [event] = world.new_events(before)
    assert (type(event).__qualname__, event.applied, event.reason) == ("Signal.Edited", False, "FILLED")
    assert edited.placed == first.placed and world.store.load(Order, first.placed[0]).status.is_open


def test_an_unreadable_message_is_recorded_rejected_with_its_reasons(world: World) -> None:
    bot_id = signals_bot(world)
    before = world.store.last_position()
    ack = send(world, bot_id, "BTC/USDT LONG Entry 50000 SL 51000 TP 52000")
    assert world.event_names(before) == ["Signal.Received", "Signal.Rejected"]
    assert (ack.status, ack.reasons, ack.placed) == ("rejected", ("STOP_LOSS_WRONG_SIDE",), ())


@pytest.mark.parametrize(
    ("policy", "status", "reasons"),
    [("refuse", "rejected", ("LEVERAGE_NOT_SUPPORTED",)), ("ignore", "executed", ())],
)
def test_leverage_is_refused_or_traded_unlevered_as_the_bot_says(
    world: World, policy: str, status: str, reasons: tuple[str, ...]
) -> None:
    bot_id = signals_bot(world, {"quote_amount": "1000", "leverage": policy})
    before = world.store.last_position()
    ack = send(world, bot_id, ZONE + "\nLeverage: 10x")
    assert (ack.status, ack.reasons) == (status, reasons)
    parsed = [e for e in world.new_events(before) if type(e).__qualname__ == "Signal.Parsed"]
    assert [p.leverage_ignored for p in parsed] == ([True] if policy == "ignore" else [])


def test_entries_the_risk_rules_deny_are_recorded_denied_on_the_bot_and_the_signal(world: World) -> None:
    bot_id = signals_bot(world, {"quote_amount": "50000"})  # 25,000 an order, over the bot's 10,000
    before = world.store.last_position()
    ack = send(world, bot_id, ZONE)
    assert world.event_names(before) == [
        "Signal.Received",
        "Signal.Parsed",
        "Signal.Executed",
        "Bot.OrderDenied",
        "Bot.OrderDenied",
    ]
    assert ack.placed == () and len(ack.denied) == 2
    assert all("MAX_ORDER_NOTIONAL" in codes for _, codes in ack.denied)


def test_a_fraction_of_equity_sizes_the_entry(world: World) -> None:
    bot_id = signals_bot(world, {"fraction": "0.1", "capital": "5000"})
    [order] = orders(world, send(world, bot_id, "BTC/USDT LONG market SL 48000 TP 52000"))
    assert order.request.quantity == Decimal("0.01")  # a tenth of 5,000 USDT at 50,000


def test_a_cancel_message_cancels_the_bots_open_signal_orders_on_the_symbol(world: World) -> None:
    bot_id = signals_bot(world)
    entered = send(world, bot_id, ZONE)
    by_hand = world.place(bot_id, "mine", "buy", "0.01", "49000")
    before = world.store.last_position()
    ack = send(world, bot_id, "Cancel BTC/USDT", message_id="m2")
    assert world.event_names(before)[:2] == ["Signal.Received", "Signal.CalledOff"]
    assert set(ack.cancelled) == set(entered.placed)
    assert all(o.status is OrderStatus.CANCELLED for o in orders(world, entered))
    assert world.store.load(Order, by_hand).status.is_open  # not a signal's order


def test_a_close_message_closes_the_position_at_the_market(world: World) -> None:
    bot_id = signals_bot(world)
    [entry] = send(world, bot_id, "BTC/USDT LONG now SL 48000 TP 52000").placed
    world.accept(entry)
    world.fill(entry, "t1", "0.02", "50000")
    ack = send(world, bot_id, "Close BTC/USDT", message_id="m2")
    [closing] = orders(world, ack)
    assert (closing.request.side, closing.request.order_type, closing.request.quantity) == (
        Side.SELL,
        OrderType.MARKET,
        Decimal("0.02"),
    )


def test_a_bot_that_does_not_follow_signals_takes_none(world: World) -> None:
    bot_id = world.running_bot()
    before = world.store.last_position()
    with pytest.raises(InvalidInput) as refused:
        send(world, bot_id, ZONE)
    assert refused.value.field == "bot_id" and world.new_events(before) == []


def test_an_edit_of_a_cancel_message_is_recorded_and_changes_nothing(world: World) -> None:
    bot_id = signals_bot(world)
    send(world, bot_id, "Cancel BTC/USDT", message_id="c1")
    before = world.store.last_position()
    send(world, bot_id, ZONE, message_id="c1")
    [event] = world.new_events(before)
    assert (type(event).__qualname__, event.applied, event.reason) == ("Signal.Edited", False, "CALLED_OFF")
