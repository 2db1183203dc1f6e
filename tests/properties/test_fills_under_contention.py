"""Whatever the exchange does with an order (trades, then cancelled, expired, left open, or a cancel
asked for) and whichever reports give up under contention meanwhile, every trade the exchange
lists is recorded exactly once, and no order is ever recorded ended with fewer fills than the
exchange reported for it."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application import commands as c
from application.errors import ConcurrencyConflict
from application.gateway import ExchangeStatus
from domain.order_states import OrderStatus
from tests.support.execution import scratch_execution
from tests.support.scripted_exchange import FailingBus, ScriptedExchange
from tests.support.world import ACTOR, LIMITS

ENDINGS = {
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "cancel asked": OrderStatus.CANCELLED,
    "open": None,  # stays open: accepted, or part filled
}
orders = st.lists(
    st.tuples(st.integers(min_value=0, max_value=3), st.sampled_from(sorted(ENDINGS))), min_size=1, max_size=4
)


class _Flaky:
    """Fails the commands whose turn in ``fails`` is True, as a conflict that outlasted the retries."""

    def __init__(self, fails: list[bool]) -> None:
        self.turns: Iterator[bool] = iter(fails)

    def __call__(self, command: c.Command) -> bool:
        return next(self.turns, False)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders, st.lists(st.booleans(), max_size=40))
def test_every_listed_trade_is_recorded_once_and_no_order_ends_before_its_trades(
    script: list[tuple[int, str]], fails: list[bool]
) -> None:
    with scratch_execution() as execution:
        world = execution.world
        exchange = ScriptedExchange()
        execution.faults.wrap = lambda _paper: exchange
        bot_id = world.running_bot(limits={**LIMITS, "max_open_orders": 10})
        placed = [world.place(bot_id, f"o-{n}", "buy", "0.05", "49000") for n in range(len(script))]
        execution.cycle()
        trade_ids = count(1)
        for order_id, (trades, ending) in zip(placed, script, strict=True):
            coid = order_id.hex
            for _ in range(trades):
                exchange.trade(f"t-{next(trade_ids)}", "0.01", client_order_id=coid)
            if ending in ("cancelled", "expired"):
                exchange.end(coid, ExchangeStatus(ending))
            elif ending == "cancel asked":
                world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id))
        execution.manager.bus = FailingBus(  # type: ignore[assignment]
            world.bus, _Flaky(fails), lambda: ConcurrencyConflict(10), times=len(fails)
        )
        for _ in range(len(fails) + 3):
            execution.cycle()
            for order_id in placed:
                order = execution.order(order_id)
                if order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
                    assert order.filled_quantity == exchange.orders[order_id.hex].filled
            execution.clock.advance(seconds=1)

        for order_id, (trades, ending) in zip(placed, script, strict=True):
            order = execution.order(order_id)
            listed = [t.trade_id for t in exchange.trades.get(order_id.hex, [])]
            assert order.trade_ids == listed  # each once, in the exchange's order
            expected = ENDINGS[ending] or (OrderStatus.PART_FILLED if trades else OrderStatus.ACCEPTED)
            assert order.status is expected
        assert exchange.submitted == len(placed)
