"""Given/when/then for the execution reports: submitted, accepted, rejected, fills, cancels, expiry."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from application import commands as c
from application.errors import IllegalTransition, InvalidInput, Overfill
from domain.bot import Bot
from domain.ids import position_id_for
from domain.order import Order
from domain.order_states import OrderStatus
from domain.position import Position
from tests.support.world import BTC, World

EXCHANGE = "exchange"


def submitted_order(world: World, quantity: str = "0.2", side: str = "buy") -> tuple[UUID, UUID]:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o-1", side, quantity, "50000")
    world.bus.dispatch(c.RecordOrderSubmitted(actor=EXCHANGE, order_id=order_id))
    return bot_id, order_id


def status(world: World, order_id: UUID) -> OrderStatus:
    return world.store.load(Order, order_id).status


def test_submitted_then_accepted_with_the_exchange_id(world: World) -> None:
    _, order_id = submitted_order(world)
    world.bus.dispatch(c.RecordOrderAccepted(actor=EXCHANGE, order_id=order_id, exchange_order_id="X-9"))
    order = world.store.load(Order, order_id)
    assert (order.status, order.exchange_order_id) == (OrderStatus.ACCEPTED, "X-9")


def test_repeated_and_stale_reports_append_nothing(world: World) -> None:
    _, order_id = submitted_order(world)
    world.fill(order_id, "t1", "0.1", "50000")
    before = world.store.last_position()
    assert not world.bus.dispatch(c.RecordOrderSubmitted(actor=EXCHANGE, order_id=order_id)).changed
    assert not world.bus.dispatch(c.RecordOrderAccepted(actor=EXCHANGE, order_id=order_id)).changed
    assert world.new_events(before) == []


def test_rejected_releases_the_committed_quantity(world: World) -> None:
    bot_id, order_id = submitted_order(world)
    before = world.store.last_position()
    world.bus.dispatch(
        c.RecordOrderRejected(actor=EXCHANGE, order_id=order_id, reason="insufficient balance")
    )
    assert world.event_names(before) == ["Order.Rejected", "Bot.OrderReleased"]
    assert world.store.load(Bot, bot_id).open_orders == {}
    with pytest.raises(InvalidInput):
        world.bus.dispatch(c.RecordOrderRejected(actor=EXCHANGE, order_id=order_id, reason=" "))


def test_partial_then_full_fill_moves_order_position_and_bot_in_one_transaction(world: World) -> None:
    bot_id, order_id = submitted_order(world)
    before = world.store.last_position()
    world.fill(order_id, "t1", "0.05", "49990", fee="0.00005", fee_currency="BTC")
    assert world.event_names(before) == [
        "Order.Filled",
        "Position.Opened",
        "Position.FillApplied",
        "Bot.FillBooked",
    ]
    assert status(world, order_id) is OrderStatus.PART_FILLED
    world.fill(order_id, "t2", "0.15", "50010", fee="7.5")
    order = world.store.load(Order, order_id)
    assert order.status is OrderStatus.FILLED
    assert order.filled_quantity == Decimal("0.2")
    assert order.average_fill_price == (Decimal("0.05") * 49990 + Decimal("0.15") * 50010) / Decimal("0.2")
    assert order.fees_quote == Decimal("0.00005") * 49990 + Decimal("7.5")
    position = world.store.load(Position, position_id_for(bot_id, str(BTC)))  # type: ignore[arg-type]
    assert position.quantity == Decimal("0.2")
    assert position.realized_pnl == -order.fees_quote
    bot = world.store.load(Bot, bot_id)
    assert bot.positions == {"BTC/USDT": Decimal("0.2")}
    assert bot.open_orders == {}


def test_a_trade_id_is_recorded_once(world: World) -> None:
    _, order_id = submitted_order(world)
    world.fill(order_id, "t1", "0.1", "50000")
    before = world.store.last_position()
    ack = world.bus.dispatch(
        c.RecordFill(actor=EXCHANGE, order_id=order_id, trade_id="t1", quantity="0.1", price="50000")
    )
    assert not ack.changed
    assert ack.position_quantity == Decimal("0.1")
    assert world.new_events(before) == []


def test_overfill_is_refused_and_appends_nothing(world: World) -> None:
    _, order_id = submitted_order(world)
    world.fill(order_id, "t1", "0.15", "50000")
    before = world.store.last_position()
    with pytest.raises(Overfill):
        world.fill(order_id, "t2", "0.06", "50000")
    assert world.new_events(before) == []


def test_fill_before_submission_is_illegal(world: World) -> None:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o", "buy", "0.1", "50000")
    with pytest.raises(IllegalTransition):
        world.fill(order_id, "t1", "0.1", "50000")


def test_a_fill_for_an_order_cancelled_before_submission_is_refused(world: World) -> None:
    """The exchange never had it, so no trade of it can be real (found by the risk property)."""
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o", "sell", "0.1", "50000")
    world.bus.dispatch(c.CancelOrder(actor="alice", order_id=order_id))
    before = world.store.last_position()
    with pytest.raises(IllegalTransition) as error:
        world.fill(order_id, "t1", "0.1", "50000")
    assert "never sent to the exchange" in str(error.value)
    assert world.store.last_position() == before
    assert world.store.load(Bot, bot_id).positions == {}


def test_cancel_flow_confirmed_by_the_exchange(world: World) -> None:
    bot_id, order_id = submitted_order(world)
    world.fill(order_id, "t1", "0.05", "50000")
    world.bus.dispatch(c.CancelOrder(actor="alice", order_id=order_id))
    before = world.store.last_position()
    world.bus.dispatch(c.RecordOrderCancelled(actor=EXCHANGE, order_id=order_id))
    assert world.event_names(before) == ["Order.Cancelled", "Bot.OrderReleased"]
    bot = world.store.load(Bot, bot_id)
    assert bot.open_orders == {} and bot.positions == {"BTC/USDT": Decimal("0.05")}


def test_a_late_fill_after_the_cancel_is_recorded_and_moves_the_position(world: World) -> None:
    bot_id, order_id = submitted_order(world)
    world.bus.dispatch(c.CancelOrder(actor="alice", order_id=order_id))
    world.bus.dispatch(c.RecordOrderCancelled(actor=EXCHANGE, order_id=order_id))
    world.fill(order_id, "late", "0.2", "50000")
    order = world.store.load(Order, order_id)
    assert order.status is OrderStatus.CANCELLED and order.filled_quantity == Decimal("0.2")
    assert world.new_events(world.store.last_position() - 4)[0].late is True
    assert world.store.load(Bot, bot_id).positions == {"BTC/USDT": Decimal("0.2")}


def test_a_rejected_cancel_returns_the_order_to_its_open_state(world: World) -> None:
    _, order_id = submitted_order(world)
    world.fill(order_id, "t1", "0.05", "50000")
    world.bus.dispatch(c.CancelOrder(actor="alice", order_id=order_id))
    world.bus.dispatch(c.RecordCancelRejected(actor=EXCHANGE, order_id=order_id, reason="too late"))
    assert status(world, order_id) is OrderStatus.PART_FILLED


def test_expiry_releases_the_rest(world: World) -> None:
    bot_id, order_id = submitted_order(world)
    world.fill(order_id, "t1", "0.05", "50000")
    world.bus.dispatch(c.RecordOrderExpired(actor=EXCHANGE, order_id=order_id))
    assert status(world, order_id) is OrderStatus.EXPIRED
    assert world.store.load(Bot, bot_id).open_orders == {}
    assert not world.bus.dispatch(c.RecordOrderExpired(actor=EXCHANGE, order_id=order_id)).changed


def test_a_sell_through_zero_flips_the_position(world: World) -> None:
    bot_id, buy = submitted_order(world, "0.1")
    world.fill(buy, "t1", "0.1", "50000")
    sell = world.place(bot_id, "s", "sell", "0.15", "51000")
    world.bus.dispatch(c.RecordOrderSubmitted(actor=EXCHANGE, order_id=sell))
    world.fill(sell, "t2", "0.15", "51000", fee="7.65")
    position = world.store.load(Position, position_id_for(bot_id, str(BTC)))  # type: ignore[arg-type]
    assert position.quantity == Decimal("-0.05")
    assert position.average_price == Decimal("51000")
    assert position.realized_pnl == Decimal("0.1") * 1000 - Decimal("7.65")


def test_a_fee_in_a_third_currency_counts_at_the_worth_reported_with_it(world: World) -> None:
    bot_id, order_id = submitted_order(world)
    world.fill(order_id, "t1", "0.2", "50000", fee="0.0125", fee_currency="BNB", fee_quote="7.5")
    order = world.store.load(Order, order_id)
    assert order.fees_quote == Decimal("7.5")
    [filled] = [e for e in world.new_events(0) if isinstance(e, Order.Filled)]
    assert (filled.fee, filled.fee_currency, filled.fee_quote) == (Decimal("0.0125"), "BNB", Decimal("7.5"))
    position = world.store.load(Position, position_id_for(bot_id, str(BTC)))  # type: ignore[arg-type]
    assert position.realized_pnl == Decimal("-7.5")


@pytest.mark.parametrize(
    ("fee_currency", "fee_quote", "rule"),
    [
        ("BNB", None, "required for a fee in BNB: its worth in USDT"),
        ("USDT", "1", "only for a fee in neither BTC nor USDT"),
        ("BNB", "-1", "must be 0 or greater"),
    ],
)
def test_a_fee_worth_missing_misplaced_or_negative_is_refused(
    world: World, fee_currency: str, fee_quote: str | None, rule: str
) -> None:
    _, order_id = submitted_order(world)
    before = world.store.last_position()
    with pytest.raises(InvalidInput) as refused:
        world.fill(order_id, "t1", "0.1", "50000", fee="1", fee_currency=fee_currency, fee_quote=fee_quote)
    assert (refused.value.field, refused.value.rule) == ("fee_quote", rule)
    assert world.new_events(before) == []
