"""A fill the exchange reported is recorded exactly once, whatever the contention and whichever
process dies when: an answer that cannot be recorded now stays pending and is tried again, the
order never ends before its trades are recorded, and start-up reconciliation compares the
exchange's trades with the recorded ones."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest
from structlog.testing import capture_logs

from application import commands as c
from application.errors import ConcurrencyConflict
from application.execution import RECONCILIATION_ACTOR
from application.gateway import ExchangeStatus
from domain.order_states import OrderStatus
from tests.support.execution import Execution
from tests.support.scripted_exchange import FailingBus, ScriptedExchange, books_a_fill
from tests.support.world import ACTOR


def _scripted(execution: Execution) -> ScriptedExchange:
    exchange = ScriptedExchange()
    execution.faults.wrap = lambda _paper: exchange
    return exchange


def _accepted(execution: Execution, exchange: ScriptedExchange) -> UUID:
    world = execution.world
    order_id = world.place(world.running_bot(), "f-1", "buy", "0.1", "49000")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.ACCEPTED and exchange.submitted == 1
    return order_id


def _order_events(execution: Execution, order_id: UUID) -> list[str]:
    return [
        type(e).__qualname__
        for e in execution.world.new_events(0)
        if e.originator_id == order_id and type(e).__qualname__ in ("Order.Filled", "Order.Cancelled")
    ]


def _contended(execution: Execution, times: int) -> None:
    """The next ``times`` reports carrying a trade give up as on a busy bot."""
    execution.manager.bus = FailingBus(  # type: ignore[assignment]
        execution.world.bus, books_a_fill, lambda: ConcurrencyConflict(10), times
    )


@pytest.mark.parametrize("ended_by", ["the exchange", "a cancel request"])
def test_a_fill_that_gives_up_under_contention_is_recorded_once_before_the_order_ends(
    execution: Execution, ended_by: str
) -> None:
    exchange = _scripted(execution)
    order_id = _accepted(execution, exchange)
    exchange.trade("t-1", "0.04")  # a partial fill, then the order ends
    if ended_by == "the exchange":
        exchange.end(exchange.only(), ExchangeStatus.CANCELLED)
    else:
        execution.world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id))
    _contended(execution, times=3)
    for _ in range(3):
        execution.cycle()
        assert execution.order(order_id).status.is_open  # not ended while its trade is missing
        assert execution.order(order_id).trade_ids == []
        execution.clock.advance(seconds=1)
    execution.cycle()
    order = execution.order(order_id)
    assert (order.status, order.trade_ids, order.filled_quantity) == (
        OrderStatus.CANCELLED,
        ["t-1"],
        Decimal("0.04"),
    )
    assert _order_events(execution, order_id) == ["Order.Filled", "Order.Cancelled"]
    assert execution.manager.working == []


def test_a_worker_killed_between_the_fill_and_its_record_records_it_once_after_restart(
    execution: Execution,
) -> None:
    exchange = _scripted(execution)
    order_id = _accepted(execution, exchange)
    exchange.trade("t-1", "0.04")
    exchange.end(exchange.only(), ExchangeStatus.CANCELLED)
    execution.manager.bus = FailingBus(  # type: ignore[assignment]
        execution.world.bus, books_a_fill, lambda: SystemExit("killed")
    )
    with pytest.raises(SystemExit):
        execution.cycle()  # the process dies: nothing after the crash runs
    assert execution.order(order_id).status is OrderStatus.ACCEPTED

    execution.restart()
    execution.faults.wrap = lambda _paper: exchange
    assert execution.start() == 1
    order = execution.order(order_id)
    assert (order.status, order.trade_ids) == (OrderStatus.CANCELLED, ["t-1"])
    assert _order_events(execution, order_id) == ["Order.Filled", "Order.Cancelled"]
    filled = [e for e in execution.world.new_events(0) if type(e).__qualname__ == "Order.Filled"]
    assert [e.meta.actor for e in filled] == [RECONCILIATION_ACTOR]
    execution.cycle()
    assert execution.order(order_id).trade_ids == ["t-1"] and exchange.submitted == 1


def test_reconciliation_records_a_listed_trade_even_when_the_exchange_shows_no_more_filled(
    execution: Execution,
) -> None:
    """The exchange lists a trade before its order status shows it (two endpoints, not one
    snapshot): the filled quantities agree, and the trade is still missing."""
    exchange = _scripted(execution)
    order_id = _accepted(execution, exchange)
    exchange.trade("t-1", "0.04")
    execution.cycle()
    assert execution.order(order_id).trade_ids == ["t-1"]
    execution.restart()  # the worker stops; meanwhile a second trade, its status not yet updated
    execution.faults.wrap = lambda _paper: exchange
    exchange.trade("t-2", "0.06", status_filled=False)
    execution.start()
    order = execution.order(order_id)
    assert (order.trade_ids, order.status) == (["t-1", "t-2"], OrderStatus.FILLED)


def test_an_order_is_not_ended_until_the_exchange_lists_all_its_trades(execution: Execution) -> None:
    exchange = _scripted(execution)
    order_id = _accepted(execution, exchange)
    exchange.trade("t-1", "0.04")
    exchange.trade("t-2", "0.02")
    exchange.end(exchange.only(), ExchangeStatus.EXPIRED)
    late = exchange.trades[exchange.only()].pop()  # the trade listing lags behind
    execution.cycle()
    order = execution.order(order_id)
    assert (order.status, order.trade_ids) == (OrderStatus.PART_FILLED, ["t-1"])
    exchange.trades[exchange.only()].append(late)
    execution.clock.advance(seconds=1)
    execution.cycle()
    order = execution.order(order_id)
    assert (order.status, order.trade_ids) == (OrderStatus.EXPIRED, ["t-1", "t-2"])


def test_an_overfill_is_refused_logged_and_not_tried_again(execution: Execution) -> None:
    exchange = _scripted(execution)
    order_id = _accepted(execution, exchange)
    exchange.trade("t-1", "0.04")
    exchange.trade("t-2", "0.5")  # more than the order: the exchange is wrong, and stays wrong
    with capture_logs() as logs:
        for _ in range(3):
            execution.cycle()
            execution.clock.advance(seconds=1)
    order = execution.order(order_id)
    assert (order.trade_ids, order.status) == (["t-1"], OrderStatus.PART_FILLED)
    refused = [e for e in logs if e["event"] == "execution report refused"]
    assert [(e["log_level"], e["command"]) for e in refused] == [("error", "RecordFill")]


def test_a_cancel_before_the_order_is_sent_is_logged_as_the_race_it_is(execution: Execution) -> None:
    world = execution.world
    order_id = world.place(world.running_bot(), "r-1", "buy", "0.1", "49000")

    def cancel_first(command: c.Command) -> bool:
        if isinstance(command, c.RecordOrderSubmitted):  # the user's cancel gets in first
            world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id))
        return False

    execution.manager.bus = FailingBus(world.bus, cancel_first, AssertionError)  # type: ignore[assignment]
    with capture_logs() as logs:
        execution.cycle()
        execution.cycle()
    assert execution.status(order_id) is OrderStatus.CANCELLED and execution.exchange_orders() == 0
    assert [e for e in logs if e["log_level"] == "error"] == []
    assert [e["log_level"] for e in logs if e["event"] == "order ended before it was sent"] == ["info"]
    assert execution.manager.working == []


def test_an_unexpected_error_recording_an_answer_ends_neither_the_turn_nor_the_order(
    execution: Execution,
) -> None:
    exchange = _scripted(execution)
    order_id = _accepted(execution, exchange)
    exchange.trade("t-1", "0.1")
    execution.manager.bus = FailingBus(  # type: ignore[assignment]
        execution.world.bus, books_a_fill, lambda: RuntimeError("dictionary changed size during iteration")
    )
    execution.cycle()  # does not raise
    assert execution.order(order_id).trade_ids == []
    execution.clock.advance(seconds=1)
    execution.cycle()
    assert (execution.status(order_id), execution.order(order_id).trade_ids) == (OrderStatus.FILLED, ["t-1"])
