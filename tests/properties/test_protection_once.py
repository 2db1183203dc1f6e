"""Stop loss and take profit under arbitrary orders, price paths, pauses and waits, worked by the
execution manager on the paper exchange: a closing order is placed at most once per position
episode and closes exactly the position it saw, an attempt happens only with the mark at or past its
level, and a denied attempt is followed by the next one no sooner than its backoff allows."""

from __future__ import annotations

import contextlib
import itertools
from collections import defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from application import commands as c
from application.errors import IllegalTransition, OrderDenied
from tests.execution.test_protection import _Protection
from tests.support.execution import Execution, scratch_execution
from tests.support.world import ACTOR, BTC

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
order = st.tuples(st.just("order"), st.sampled_from(["buy", "sell"]), quantities)
price = st.tuples(st.just("price"), st.none(), prices)
check = st.tuples(st.just("check"), st.none(), st.none())
actions = st.one_of(
    order,
    order,
    price,
    price,
    check,
    check,
    st.tuples(st.just("cycle"), st.none(), st.none()),
    st.tuples(st.sampled_from(["pause", "resume"]), st.none(), st.none()),
    st.tuples(st.just("wait"), st.none(), st.sampled_from([1, 3, 30])),
)


def play(execution: Execution, bot_id: UUID, script: list[tuple[Any, ...]]) -> None:
    world, protection = execution.world, _Protection(execution)
    for n, (kind, side, value) in enumerate(script):
        if kind == "order":
            with contextlib.suppress(OrderDenied):
                world.place(bot_id, f"o-{n}", side, str(value))
            execution.cycle()
        elif kind == "price":
            execution.prices.set(BTC, value)
        elif kind == "check":  # possibly again before the closing order filled
            protection.check()
        elif kind in ("pause", "resume"):
            command = c.PauseBot if kind == "pause" else c.ResumeBot
            with contextlib.suppress(IllegalTransition):
                world.bus.dispatch(command(actor=ACTOR, bot_id=bot_id))
        elif kind == "wait":
            execution.clock.advance(seconds=value)
        else:
            execution.cycle()
    protection.check()
    execution.cycle()


def assert_attempts_follow_the_backoff(fired: list[Any]) -> None:
    """Per episode: attempts numbered from 1, each with its own client order id, every one but the
    last denied, and each made no sooner than the one before allowed."""
    assert len({e.client_order_id for e in fired}) == len(fired)
    by_episode = defaultdict(list)
    for e in fired:
        by_episode[e.episode].append(e)
    for attempts in by_episode.values():
        assert [e.attempt for e in attempts] == list(range(1, len(attempts) + 1))
        for earlier, later in itertools.pairwise(attempts):
            assert earlier.order_id is None and earlier.retry_at is not None
            assert later.timestamp >= earlier.retry_at


def assert_each_closing_order_closes_what_it_saw(events: list[Any]) -> None:
    applied = {}
    for e in events:  # the position's quantity just before each firing
        if type(e).__qualname__ == "Position.FillApplied":
            applied[e.originator_id] = e.quantity
        if type(e).__qualname__ == "Position.ProtectionFired" and e.order_id is not None:
            closing = [
                p for p in events if type(p).__qualname__ == "Order.Placed" and p.originator_id == e.order_id
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


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, min_size=6, max_size=25))
def test_a_closing_order_is_placed_at_most_once_per_episode(script: list[tuple[Any, ...]]) -> None:
    with scratch_execution() as execution:
        world = execution.world
        bot_id = world.running_bot(limits=LIMITS, symbols=["BTC/USDT"])
        before = world.store.last_position()
        play(execution, bot_id, script)
        events = world.new_events(before)
        fired = [e for e in events if type(e).__qualname__ == "Position.ProtectionFired"]
        placed = [e.episode for e in fired if e.order_id is not None]
        event(f"closing orders placed: {min(len(placed), 2)}")
        event(f"closing orders denied: {min(len(fired) - len(placed), 2)}")
        assert len(placed) == len(set(placed))  # at most once per episode
        assert_attempts_follow_the_backoff(fired)
        assert_each_closing_order_closes_what_it_saw(events)
