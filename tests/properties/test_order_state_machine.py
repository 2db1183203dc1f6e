"""(b) Random sequences of execution events never drive an order outside the transition table."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.ids import BotId, ClientOrderId, ExchangeOrderId, OrderId, TradeId, UserId
from domain.order import Order
from domain.order_states import TERMINAL, TRANSITIONS, OrderStatus, Trigger
from domain.orders import OrderRequest
from domain.values import EventMeta, OrderType, Side, Stamp, Symbol, TimeInForce

STAMP = Stamp(datetime(2026, 1, 1, tzinfo=UTC), EventMeta(UserId("t"), "c", "c"))
ACTIONS = [
    "submit",
    "accept",
    "fill_small",
    "fill_rest",
    "fill_too_much",
    "fill_repeat",
    "request_cancel",
    "cancelled",
    "cancel_rejected",
    "reject",
    "expire",
]
REACHED_BY = {
    "submit": Trigger.SUBMIT,
    "accept": Trigger.ACCEPT,
    "request_cancel": Trigger.REQUEST_CANCEL,
    "cancelled": Trigger.CANCELLED,
    "cancel_rejected": Trigger.CANCEL_REJECTED,
    "reject": Trigger.REJECT,
    "expire": Trigger.EXPIRE,
}


def new_order() -> Order:
    request = OrderRequest(
        ClientOrderId("c"),
        Symbol("BTC", "USDT"),
        Side.BUY,
        OrderType.LIMIT,
        Decimal(1),
        Decimal(100),
        None,
        TimeInForce.GTC,
    )
    return Order.place(OrderId(uuid4()), BotId(uuid4()), request, STAMP)


def act(order: Order, action: str, n: int) -> bool:
    if action == "submit":
        return order.submit(STAMP)
    if action == "accept":
        return order.accept(ExchangeOrderId("x"), STAMP)
    if action == "fill_small":
        return order.fill(
            TradeId(f"t{n}"), min(Decimal("0.1"), order.remaining), Decimal(100), Decimal(0), "USDT", STAMP
        )
    if action == "fill_rest":
        return order.fill(TradeId(f"t{n}"), order.remaining, Decimal(100), Decimal(0), "USDT", STAMP)
    if action == "fill_too_much":
        return order.fill(TradeId(f"t{n}"), order.remaining + 1, Decimal(100), Decimal(0), "USDT", STAMP)
    if action == "fill_repeat":
        return order.fill(TradeId("t0"), Decimal("0.1"), Decimal(100), Decimal(0), "USDT", STAMP)
    if action == "request_cancel":
        return order.request_cancel(STAMP)
    if action == "cancelled":
        return order.confirm_cancelled("exchange", STAMP)
    if action == "cancel_rejected":
        return order.reject_cancel("too late", STAMP)
    if action == "reject":
        return order.reject("no", STAMP)
    return order.expire(STAMP)


@given(st.lists(st.sampled_from(ACTIONS), max_size=30))
def test_every_status_change_is_a_row_of_the_table(actions: list[str]) -> None:
    order = new_order()
    for n, action in enumerate(actions):
        before, version, filled = order.status, order.version, order.filled_quantity
        try:
            changed = act(order, action, n)
        except DomainError:
            changed = False
            assert (order.status, order.version, order.filled_quantity) == (before, version, filled)
        if not changed:
            assert order.version == version
            continue
        assert order.filled_quantity <= order.request.quantity
        if action.startswith("fill"):
            trigger = (
                Trigger.FILL_REST if order.filled_quantity == order.request.quantity else Trigger.FILL_PART
            )
        else:
            trigger = REACHED_BY[action]
        assert (before, trigger) in TRANSITIONS, (before, trigger)
        expected = TRANSITIONS[(before, trigger)]
        if trigger is Trigger.CANCEL_REJECTED:
            assert order.status.is_open and order.status is not OrderStatus.PENDING_CANCEL
        elif trigger is Trigger.REQUEST_CANCEL and before is OrderStatus.PENDING_NEW:
            assert order.status is OrderStatus.CANCELLED
        else:
            assert order.status is expected
        if before in TERMINAL:
            assert order.status is before  # terminal orders only take late fills
