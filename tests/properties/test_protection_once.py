"""Stop loss and take profit under arbitrary orders and price paths, worked by the execution
manager on the paper exchange: protection fires at most once per position episode, each firing
closes exactly the position it saw, and a firing happens only with the mark at or past its level."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from application.errors import OrderDenied
from tests.execution.test_protection import _Protection
from tests.support.execution import scratch_execution
from tests.support.world import BTC

LIMITS = {
    "max_order_notional": "1000000",
    "max_position_notional": "1000000",
    "max_open_orders": 50,
    "daily_loss_limit": "1000000",
    "price_band_pct": "0.2",
    "max_orders_per_minute": 1000,
    "stop_loss_fraction": "0.02",
    "take_profit_fraction": "0.03",
}
prices = st.integers(min_value=46_000, max_value=54_000).map(Decimal)
quantities = st.integers(min_value=1, max_value=30).map(lambda n: Decimal(n) / 100)
actions = st.one_of(
    st.tuples(st.just("order"), st.sampled_from(["buy", "sell"]), quantities),
    st.tuples(st.just("price"), st.none(), prices),
    st.tuples(st.just("check"), st.none(), st.none()),
    st.tuples(st.just("cycle"), st.none(), st.none()),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, min_size=1, max_size=25))
def test_protection_fires_at_most_once_per_episode(script: list[tuple[Any, ...]]) -> None:
    with scratch_execution() as execution:
        world = execution.world
        bot_id = world.running_bot(limits=LIMITS, symbols=["BTC/USDT"])
        protection = _Protection(execution)
        before = world.store.last_position()
        for n, (kind, side, value) in enumerate(script):
            if kind == "order":
                with contextlib.suppress(OrderDenied):
                    world.place(bot_id, f"o-{n}", side, str(value))
                execution.cycle()
            elif kind == "price":
                execution.prices.set(BTC, value)
            elif kind == "check":  # possibly again before the closing order filled
                protection.check()
            else:
                execution.cycle()
        protection.check()
        execution.cycle()

        events = world.new_events(before)
        fired = [e for e in events if type(e).__qualname__ == "Position.ProtectionFired"]
        episodes = [e.episode for e in fired]
        event(f"protections fired: {min(len(fired), 2)}")
        assert len(episodes) == len(set(episodes))  # at most once per episode
        applied = {}
        for e in events:  # the position's quantity just before each firing
            if type(e).__qualname__ == "Position.FillApplied":
                applied[e.originator_id] = e.quantity
            if type(e).__qualname__ == "Position.ProtectionFired" and e.order_id is not None:
                closing = [
                    p
                    for p in events
                    if type(p).__qualname__ == "Order.Placed" and p.originator_id == e.order_id
                ]
                assert len(closing) == 1
                request = closing[0].request
                held = applied[e.originator_id]
                assert request.quantity == abs(held)
                assert request.side.sign == (-1 if held > 0 else 1)
                sign = 1 if held > 0 else -1
                if e.kind == "stop_loss":
                    assert (e.mark - e.level) * sign <= 0
                else:
                    assert (e.mark - e.level) * sign >= 0
