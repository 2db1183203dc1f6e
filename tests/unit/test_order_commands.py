"""Given/when/then for placing and cancelling orders, and for every risk reason code."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from application import commands as c
from application.errors import IdempotencyMismatch, IllegalTransition, InvalidInput, NotFound, OrderDenied
from domain.bot import Bot
from domain.order import Order
from domain.order_states import OrderStatus
from domain.risk import ReasonCode
from tests.support.world import ACTOR, BTC, LIMITS, World


def test_place_order_records_the_order_and_the_admission_together(world: World) -> None:
    bot_id = world.running_bot()
    before = world.store.last_position()
    order_id = world.place(bot_id, "o-1", "buy", "0.1", "50000")
    assert world.event_names(before) == ["Bot.OrderAdmitted", "Order.Placed"]
    order = world.store.load(Order, order_id)
    assert order.status is OrderStatus.PENDING_NEW
    assert order.request.quantity == Decimal("0.1")
    bot = world.store.load(Bot, bot_id)
    assert bot.exposure(BTC).open_buy == Decimal("0.1")


def test_same_client_order_id_twice_places_one_order(world: World) -> None:
    bot_id = world.running_bot()
    first = world.place(bot_id, "dup", "buy", "0.1", "50000")
    before = world.store.last_position()
    second = world.place(bot_id, "dup", "buy", "0.1", "50000")
    assert first == second
    assert world.new_events(before) == []


def test_same_client_order_id_for_a_different_order_is_refused_and_appends_nothing(world: World) -> None:
    bot_id = world.running_bot()
    world.place(bot_id, "dup", "buy", "0.1", "50000")
    before = world.store.last_position()
    with pytest.raises(IdempotencyMismatch) as error:
        world.place(bot_id, "dup", "buy", "0.2", "50000")
    assert "client order id dup" in str(error.value)
    assert world.new_events(before) == []


def test_idempotency_key_stands_for_the_client_order_id(world: World) -> None:
    bot_id = world.running_bot()
    cmd = c.PlaceOrder(
        actor=ACTOR,
        bot_id=bot_id,
        idempotency_key="key-7",
        symbol="BTC/USDT",
        side="buy",
        order_type="market",
        quantity="0.01",
    )
    first, second = world.bus.dispatch(cmd), world.bus.dispatch(cmd)
    assert first.order_id == second.order_id and first.changed and not second.changed
    assert first.client_order_id == "key-7"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "abc"}, "quantity"),
        ({"symbol": "BTCUSDT"}, "symbol"),
        ({"symbol": "btc/usdt"}, "symbol"),
        ({"order_type": "limit", "price": None}, "price"),
        ({"order_type": "market", "price": "50000"}, "price"),
        ({"order_type": "stop_market"}, "stop_price"),
        ({"side": "long"}, "side"),
        ({"order_type": "iceberg"}, "order_type"),
        ({"time_in_force": "DAY"}, "time_in_force"),
        ({"client_order_id": "has space"}, "client_order_id"),
        ({"price": "-5", "order_type": "limit"}, "price"),
    ],
)
def test_bad_order_input_is_a_typed_error_naming_the_field_and_appends_nothing(
    world: World, fields: dict[str, object], field: str
) -> None:
    bot_id = world.running_bot()
    values: dict[str, object] = {
        "actor": ACTOR,
        "bot_id": bot_id,
        "client_order_id": "x",
        "symbol": "BTC/USDT",
        "side": "buy",
        "order_type": "market",
        "quantity": "0.01",
    }
    values.update(fields)
    before = world.store.last_position()
    with pytest.raises(InvalidInput) as error:
        world.bus.dispatch(c.PlaceOrder(**values))  # type: ignore[arg-type]
    assert error.value.field == field
    assert world.new_events(before) == []


def test_order_for_an_unknown_bot_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.place(uuid4(), "o", "buy", "0.1", "50000")
    assert world.new_events(0) == []


def deny(world: World, bot_id: object, *args: str | None, **kw: object) -> OrderDenied:
    before = world.store.last_position()
    with pytest.raises(OrderDenied) as error:
        world.place(bot_id, *args, **kw)  # type: ignore[arg-type]
    events = world.new_events(before)
    assert [type(e).__qualname__ for e in events] == ["Bot.OrderDenied"]
    assert events[0].reason_codes == error.value.reason_codes
    assert events[0].denial_id == error.value.denial_id
    return error.value


def codes(denied: OrderDenied) -> set[ReasonCode]:
    return set(denied.reason_codes)


def test_bot_not_running(world: World) -> None:
    bot_id = world.running_bot()
    world.bus.dispatch(c.PauseBot(actor=ACTOR, bot_id=bot_id))
    assert codes(deny(world, bot_id, "o", "buy", "0.1", "50000")) == {ReasonCode.BOT_NOT_RUNNING}


def test_kill_switch(world: World) -> None:
    bot_id = world.running_bot()
    world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="manual"))
    assert codes(deny(world, bot_id, "o", "buy", "0.1", "50000")) == {ReasonCode.KILL_SWITCH}
    assert codes(deny(world, bot_id, "s", "sell", "0.1", "50000")) == {ReasonCode.KILL_SWITCH}  # flat


def test_with_the_kill_switch_on_only_orders_that_reduce_the_position_pass(world: World) -> None:
    bot_id = world.running_bot()
    buy = world.place(bot_id, "b", "buy", "0.1", "50000")
    world.accept(buy)
    world.fill(buy, "t1", "0.1", "50000")
    world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="manual"))
    assert codes(deny(world, bot_id, "grow", "buy", "0.01", "50000")) == {ReasonCode.KILL_SWITCH}
    assert codes(deny(world, bot_id, "flip", "sell", "0.11", "50000")) == {ReasonCode.KILL_SWITCH}
    world.place(bot_id, "part", "sell", "0.04", "50000")
    # with the open sell of 0.04, a sell of 0.07 could take the position short
    assert codes(deny(world, bot_id, "more", "sell", "0.07", "50000")) == {ReasonCode.KILL_SWITCH}
    world.place(bot_id, "rest", "sell", "0.06")  # the rest, at market: the position closes


def test_symbol_not_allowed(world: World) -> None:
    bot_id = world.running_bot(symbols=["ETH/USDT"])
    assert codes(deny(world, bot_id, "o", "buy", "0.1", "50000")) == {ReasonCode.SYMBOL_NOT_ALLOWED}


def test_market_unknown(world: World) -> None:
    bot_id = world.running_bot(symbols=["DOGE/USDT"])
    denied = deny(world, bot_id, "o", "buy", "100", "0.1", symbol="DOGE/USDT")
    assert ReasonCode.MARKET_UNKNOWN in codes(denied)


def test_no_reference_price(world: World) -> None:
    bot_id = world.running_bot(symbols=["SOL/USDT"])
    denied = deny(world, bot_id, "o", "buy", "1", None, symbol="SOL/USDT")
    assert codes(denied) == {ReasonCode.NO_REFERENCE_PRICE}


def test_invalid_quantity_off_the_exchange_step(world: World) -> None:
    bot_id = world.running_bot()
    assert codes(deny(world, bot_id, "o", "buy", "0.100005", "50000")) == {ReasonCode.INVALID_QUANTITY}


def test_invalid_price_off_the_tick(world: World) -> None:
    bot_id = world.running_bot()
    assert codes(deny(world, bot_id, "o", "buy", "0.1", "50000.005")) == {ReasonCode.INVALID_PRICE}


def test_below_min_notional(world: World) -> None:
    bot_id = world.running_bot()
    assert codes(deny(world, bot_id, "o", "buy", "0.00001", "50000")) == {ReasonCode.BELOW_MIN_NOTIONAL}


def test_max_order_notional(world: World) -> None:
    bot_id = world.running_bot()
    assert codes(deny(world, bot_id, "o", "buy", "0.21", "50000")) == {ReasonCode.MAX_ORDER_NOTIONAL}


def test_max_position_counts_the_position_and_open_orders_on_the_same_side(world: World) -> None:
    bot_id = world.running_bot()
    filled = world.place(bot_id, "a", "buy", "0.2", "50000")
    world.bus.dispatch(c.RecordOrderSubmitted(actor="x", order_id=filled))
    world.fill(filled, "t1", "0.2", "50000")
    world.place(bot_id, "b", "buy", "0.15", "50000")
    # 0.2 held + 0.15 open + 0.1 new = 0.45 BTC = 22,500 USDT > 20,000
    assert codes(deny(world, bot_id, "c", "buy", "0.1", "50000")) == {ReasonCode.MAX_POSITION}
    world.place(bot_id, "d", "buy", "0.05", "50000")  # 0.4 BTC = 20,000: exactly at the limit


def test_orders_that_only_reduce_pass_max_position(world: World) -> None:
    bot_id = world.running_bot(limits={**LIMITS, "max_order_notional": "100000"})
    order = world.place(bot_id, "a", "buy", "0.4", "50000")
    world.bus.dispatch(c.RecordOrderSubmitted(actor="x", order_id=order))
    world.fill(order, "t1", "0.4", "50000")
    world.bus.dispatch(
        c.UpdateRiskLimits(actor=ACTOR, bot_id=bot_id, limits={**LIMITS, "max_position_notional": "100"})
    )
    world.place(bot_id, "r", "sell", "0.1", "50000")  # reduces: passes although over the new limit
    assert codes(deny(world, bot_id, "n", "buy", "0.01", "50000")) == {ReasonCode.MAX_POSITION}
    # selling more than held (with the open sell) would flip short: not reduce-only
    assert codes(deny(world, bot_id, "f", "sell", "0.31", "50000")) == {
        ReasonCode.MAX_POSITION,
        ReasonCode.MAX_ORDER_NOTIONAL,
    }


def test_max_open_orders(world: World) -> None:
    bot_id = world.running_bot()
    for i in range(3):
        world.place(bot_id, f"o{i}", "buy", "0.01", "50000")
    assert codes(deny(world, bot_id, "o3", "buy", "0.01", "50000")) == {ReasonCode.MAX_OPEN_ORDERS}


def test_price_band(world: World) -> None:
    bot_id = world.running_bot()
    assert codes(deny(world, bot_id, "o", "buy", "0.01", "52600")) == {ReasonCode.PRICE_BAND}
    world.place(bot_id, "ok", "buy", "0.01", "52500")  # exactly 5 % away


def test_order_rate_counts_the_last_minute(world: World) -> None:
    bot_id = world.running_bot(limits={**LIMITS, "max_orders_per_minute": 2, "max_open_orders": 10})
    world.place(bot_id, "a", "buy", "0.01", "50000")
    world.clock.advance(seconds=30)
    world.place(bot_id, "b", "buy", "0.01", "50000")
    world.clock.advance(seconds=29)
    assert codes(deny(world, bot_id, "c", "buy", "0.01", "50000")) == {ReasonCode.ORDER_RATE}
    world.clock.advance(seconds=2)
    world.place(bot_id, "d", "buy", "0.01", "50000")


def test_daily_loss_limit_trips_the_kill_switch_and_later_allows_only_reducing(world: World) -> None:
    bot_id = world.running_bot(limits={**LIMITS, "daily_loss_limit": "100"})
    buy = world.place(bot_id, "b", "buy", "0.2", "50000")
    world.bus.dispatch(c.RecordOrderSubmitted(actor="x", order_id=buy))
    world.fill(buy, "t1", "0.2", "50000")
    world.prices.set(BTC, Decimal("49000"))
    sell = world.place(bot_id, "s", "sell", "0.1", "49000")
    world.bus.dispatch(c.RecordOrderSubmitted(actor="x", order_id=sell))
    before = world.store.last_position()
    world.fill(sell, "t2", "0.1", "49000")  # realizes -100
    assert "Bot.KillSwitchTripped" in world.event_names(before)
    bot = world.store.load(Bot, bot_id)
    assert bot.kill_switch_reason == "DAILY_LOSS_LIMIT"
    assert codes(deny(world, bot_id, "x1", "buy", "0.01", "49000")) == {
        ReasonCode.KILL_SWITCH,
        ReasonCode.DAILY_LOSS_LIMIT,
    }
    world.bus.dispatch(c.ResetKillSwitch(actor=ACTOR, bot_id=bot_id, reason="loss reviewed"))
    assert codes(deny(world, bot_id, "x2", "buy", "0.01", "49000")) == {ReasonCode.DAILY_LOSS_LIMIT}
    world.place(bot_id, "x3", "sell", "0.05", "49000")  # reduces: allowed
    world.clock.advance(days=1)  # a new UTC day starts from zero
    world.place(bot_id, "x4", "buy", "0.01", "49000")


def test_every_failing_rule_is_reported(world: World) -> None:
    bot_id = world.running_bot()
    world.bus.dispatch(c.PauseBot(actor=ACTOR, bot_id=bot_id))
    denied = deny(world, bot_id, "o", "buy", "0.100005", "70000")
    assert codes(denied) == {
        ReasonCode.BOT_NOT_RUNNING,
        ReasonCode.INVALID_QUANTITY,
        ReasonCode.PRICE_BAND,
    }


def test_repeating_a_denied_client_order_id_returns_the_first_denial_and_appends_nothing(
    world: World,
) -> None:
    bot_id = world.running_bot()
    first = deny(world, bot_id, "big", "buy", "1", "50000")
    before = world.store.last_position()
    with pytest.raises(OrderDenied) as again:
        world.place(bot_id, "big", "buy", "1", "50000")
    assert again.value.denial_id == first.denial_id
    assert world.new_events(before) == []


def test_cancel_before_submission_cancels_at_once_and_releases_the_exposure(world: World) -> None:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o", "buy", "0.1", "50000")
    before = world.store.last_position()
    ack = world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id))
    assert ack.status == "cancelled"
    assert world.event_names(before) == ["Order.Cancelled", "Bot.OrderReleased"]
    assert world.store.load(Bot, bot_id).open_orders == {}


def test_cancel_after_submission_waits_for_the_exchange(world: World) -> None:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o", "buy", "0.1", "50000")
    world.bus.dispatch(c.RecordOrderSubmitted(actor="x", order_id=order_id))
    assert world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id)).status == "pending_cancel"
    assert not world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id)).changed
    assert world.store.load(Bot, bot_id).exposure(BTC).open_buy == Decimal("0.1")


def test_cancel_is_allowed_even_when_the_kill_switch_is_tripped(world: World) -> None:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o", "buy", "0.1", "50000")
    world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="halt"))
    assert world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id)).status == "cancelled"


def test_cancel_of_a_filled_order_is_an_illegal_transition(world: World) -> None:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o", "buy", "0.1", "50000")
    world.bus.dispatch(c.RecordOrderSubmitted(actor="x", order_id=order_id))
    world.fill(order_id, "t", "0.1", "50000")
    before = world.store.last_position()
    with pytest.raises(IllegalTransition):
        world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id))
    assert world.new_events(before) == []


def test_a_part_fill_while_a_cancel_is_pending_keeps_the_cancel_pending(world: World) -> None:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o", "buy", "0.1", "50000")
    world.accept(order_id)
    world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id))
    world.fill(order_id, "t1", "0.04", "50000")
    order = world.store.load(Order, order_id)
    assert order.status is OrderStatus.PENDING_CANCEL and order.filled_quantity == Decimal("0.04")
    ack = world.bus.dispatch(c.RecordCancelRejected(actor="x", order_id=order_id, reason="too late"))
    assert ack.status == "part_filled"  # back to the open state it is in now, not the one it left
    world.fill(order_id, "t2", "0.06", "50000")
    assert world.store.load(Order, order_id).status is OrderStatus.FILLED
