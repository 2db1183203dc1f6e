"""Orders worked by the execution manager on the paper exchange, under arbitrary orders, cancels
and price moves: every fill at the exchange is recorded exactly once, no order is recorded as
filled beyond its quantity, and the position equals the sum of the exchange's fills."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application import commands as c
from application.errors import OrderDenied
from domain.ids import BotId, position_id_for
from domain.position import Position
from tests.support.execution import scratch_execution
from tests.support.world import ACTOR, BTC

LIMITS = {
    "max_order_notional": "1000000",
    "max_position_notional": "1000000",
    "max_open_orders": 50,
    "daily_loss_limit": "1000000",
    "price_band_pct": "0.2",
    "max_orders_per_minute": 1000,
}
prices = st.integers(min_value=45_000, max_value=55_000).map(Decimal)
quantities = st.integers(min_value=1, max_value=50).map(lambda n: Decimal(n) / 100)
actions = st.one_of(
    st.tuples(st.just("market"), st.sampled_from(["buy", "sell"]), quantities, st.none()),
    st.tuples(st.just("limit"), st.sampled_from(["buy", "sell"]), quantities, prices),
    st.tuples(st.just("price"), st.none(), st.none(), prices),
    st.tuples(st.just("cancel"), st.none(), st.none(), st.integers(min_value=0, max_value=20)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, min_size=1, max_size=25))
def test_positions_equal_the_sum_of_the_exchange_fills(script: list[tuple[Any, ...]]) -> None:
    with scratch_execution() as execution:
        world = execution.world
        bot_id = world.running_bot(limits=LIMITS, symbols=["BTC/USDT"])
        placed: list[UUID] = []
        for n, (kind, side, quantity, value) in enumerate(script):
            if kind == "price":
                execution.prices.set(BTC, value)
            elif kind == "cancel":
                target = placed[value % len(placed)] if placed else None
                if target is not None and execution.status(target).is_open:
                    world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=target))
            else:
                with contextlib.suppress(OrderDenied):  # the risk rules may refuse it: fine
                    placed.append(world.place(bot_id, f"o-{n}", side, str(quantity), value and str(value)))
            execution.cycle()
        execution.cycle()

        exchange = execution.accounts.paper("paper").account.exchange
        trades = exchange.trades()
        orders = [execution.order(order_id) for order_id in placed]
        recorded = sorted(t for order in orders for t in order.trade_ids)
        assert recorded == sorted(t.trade_id for t in trades)
        assert all(order.filled_quantity <= order.request.quantity for order in orders)
        for order in orders:
            at_exchange = exchange.lookup(order.id.hex)
            assert order.filled_quantity == (at_exchange.filled if at_exchange else 0)
        position = world.store.find(Position, position_id_for(BotId(bot_id), "BTC/USDT"))
        quantity = position.quantity if position is not None else Decimal(0)
        assert quantity == sum((t.quantity * t.side.sign for t in trades), Decimal(0))
        assert all(amount >= 0 for amount in exchange.balances.values())
