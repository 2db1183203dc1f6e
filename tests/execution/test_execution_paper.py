"""The execution manager against the paper exchange: orders go out once, what happens to them comes
back through the command handlers, and a restart reconciles instead of resending."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application import commands as c
from application.errors import OrderDenied
from application.execution import EXECUTION_ACTOR, RECONCILIATION_ACTOR
from application.gateway import ExchangeGateway, ExchangeOrder, OutcomeUnknown
from domain.bot import Bot
from domain.ids import BotId, position_id_for
from domain.order_states import OrderStatus
from domain.orders import OrderRequest
from domain.position import Position
from domain.risk import ReasonCode
from infrastructure.adapters import PAPER_MARKETS
from infrastructure.credentials import CredentialStore, ExchangeCredentials, new_key
from tests.support.execution import SETTLE, Execution
from tests.support.world import ACTOR, BTC, LIMITS


def test_a_market_order_is_sent_once_and_its_fill_lands_on_the_position(execution: Execution) -> None:
    world = execution.world
    bot_id = world.running_bot()
    before = world.store.last_position()
    order_id = world.place(bot_id, "m-1", "buy", "0.1", correlation_id="req-42")
    execution.cycle()
    execution.cycle()
    order = execution.order(order_id)
    assert order.status is OrderStatus.FILLED
    assert order.average_fill_price == Decimal("50050.00")  # 10 bps of slippage
    assert order.exchange_order_id == "paper-1"
    position = world.store.load(Position, position_id_for(BotId(bot_id), "BTC/USDT"))
    assert position.quantity == Decimal("0.1")
    reports = [e for e in world.new_events(before) if type(e).__qualname__.startswith("Order.")][1:]
    assert [type(e).__qualname__ for e in reports] == ["Order.Submitted", "Order.Accepted", "Order.Filled"]
    assert {(e.meta.actor, e.meta.correlation_id) for e in reports} == {(EXECUTION_ACTOR, "req-42")}
    assert execution.exchange_orders() == 1
    assert execution.manager.working == []


def test_a_resting_limit_order_fills_as_maker_when_the_price_reaches_it(execution: Execution) -> None:
    world = execution.world
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "l-1", "buy", "0.1", "49000")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.ACCEPTED
    execution.prices.set(BTC, Decimal("48900"))
    execution.cycle()
    order = execution.order(order_id)
    assert (order.status, order.average_fill_price) == (OrderStatus.FILLED, Decimal("49000"))
    assert order.fees_quote == Decimal("0.1") * Decimal("49000") * Decimal("0.001")


def test_a_cancel_is_carried_out_at_the_exchange(execution: Execution) -> None:
    world = execution.world
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "l-2", "sell", "0.15", "52000")
    execution.cycle()
    world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id))
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.CANCELLED
    assert world.store.load(Bot, bot_id).open_orders == {}
    execution.prices.set(BTC, Decimal("53000"))  # would have filled it
    execution.cycle()
    assert execution.order(order_id).filled_quantity == 0


def test_a_cancel_is_carried_out_even_when_a_part_fill_is_recorded_first(execution: Execution) -> None:
    """A poll, a stream or a reconciliation can record a fill before execution reads the cancel
    request: the request still stands and reaches the exchange."""
    world = execution.world
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "rest", "buy", "0.01", price="49900")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.ACCEPTED
    world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id))
    world.fill(order_id, "t-1", "0.004", "49900")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.CANCELLED
    assert execution.order(order_id).filled_quantity == Decimal("0.004")
    assert world.store.load(Bot, bot_id).open_orders == {}


def test_an_ioc_order_that_cannot_fill_expires(execution: Execution) -> None:
    world = execution.world
    order_id = world.place(world.running_bot(), "ioc-1", "buy", "0.1", "49000", time_in_force="IOC")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.EXPIRED


def test_an_order_the_account_cannot_pay_for_is_rejected_with_the_reason(execution: Execution) -> None:
    world = execution.world
    limits = {"max_order_notional": "1000000", "max_position_notional": "1000000"}
    bot_id = world.running_bot(limits={**LIMITS, **limits})
    order_id = world.place(bot_id, "big-1", "buy", "3", "50000")
    execution.cycle()
    order = execution.order(order_id)
    assert order.status is OrderStatus.REJECTED and "insufficient funds" in (order.reason or "")
    assert world.store.load(Bot, bot_id).open_orders == {}


def test_an_order_for_an_account_that_is_not_configured_is_rejected(execution: Execution) -> None:
    """Risk knows the account's markets (loaded earlier), but its credentials are gone: the order is
    admitted, and execution rejects it without sending anything."""
    world = execution.world
    execution.container.market_store().save("binance-main", {BTC: PAPER_MARKETS[BTC]})
    credentials = _store_account(execution, "binance-main", "binance")
    bot_id = world.running_bot(symbols=["BTC/USDT"], account="binance-main")
    assert credentials.remove("binance-main")
    order_id = world.place(bot_id, "x-1", "buy", "0.1")
    execution.cycle()
    order = execution.order(order_id)
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "exchange account 'binance-main' is not configured"


def test_an_order_on_an_account_whose_markets_are_unknown_is_denied(execution: Execution) -> None:
    world = execution.world
    _store_account(execution, "kraken-main", "kraken")
    bot_id = world.running_bot(symbols=["BTC/USDT"], account="kraken-main")
    with pytest.raises(OrderDenied) as denied:
        world.place(bot_id, "x-1", "buy", "0.1")
    assert denied.value.reason_codes == [ReasonCode.MARKET_UNKNOWN]


def _store_account(execution: Execution, account: str, exchange: str) -> CredentialStore:
    store = CredentialStore(execution.container.read_engine(), new_key(), execution.clock.now)
    store.save(ExchangeCredentials(account, exchange, False, None, "key", "secret"))
    return store


class _Faulty:
    """A gateway that behaves like the one it wraps except where a subclass says otherwise."""

    def __init__(self, inner: ExchangeGateway) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


class _TimeoutAfterSending(_Faulty):
    """The request reaches the exchange, the answer never comes back."""

    async def submit(self, request: OrderRequest) -> ExchangeOrder:
        await self.inner.submit(request)
        raise OutcomeUnknown("read timed out")


def test_a_timeout_after_sending_is_looked_up_and_never_resent(execution: Execution) -> None:
    world = execution.world
    order_id = world.place(world.running_bot(), "t-1", "buy", "0.1")
    execution.faults.wrap = _TimeoutAfterSending
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.SUBMITTED
    execution.clock.advance(seconds=1)
    execution.cycle()  # the lookup finds the order filled
    assert execution.status(order_id) is OrderStatus.FILLED
    assert execution.exchange_orders() == 1


class _DiesBeforeSending(_Faulty):
    """The process stops between recording the order as submitted and sending it."""

    async def submit(self, request: OrderRequest) -> ExchangeOrder:
        raise SystemExit("killed")


def test_a_restart_reconciles_and_sends_an_order_the_exchange_never_got_once(execution: Execution) -> None:
    world = execution.world
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "k-1", "buy", "0.1")
    execution.faults.wrap = _DiesBeforeSending
    with pytest.raises(SystemExit):
        execution.cycle()
    assert execution.status(order_id) is OrderStatus.SUBMITTED and execution.exchange_orders() == 0

    execution.restart()
    assert execution.start() == 1  # taken on before it was sent, so reconciled first
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.SUBMITTED  # too soon: it may still arrive
    execution.clock.advance(seconds=SETTLE + 1)
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.FILLED
    assert execution.exchange_orders() == 1


def test_a_restart_reconciles_what_happened_while_it_was_away(execution: Execution) -> None:
    world = execution.world
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "r-1", "buy", "0.1", "49000")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.ACCEPTED

    execution.restart()  # the manager stops; the market moves and fills the order meanwhile
    execution.prices.set(BTC, Decimal("48000"))
    execution.run(execution.accounts.follow_prices())
    before = world.store.last_position()
    assert execution.start() == 1
    order = execution.order(order_id)
    assert order.status is OrderStatus.FILLED
    fills = [e for e in world.new_events(before) if type(e).__qualname__ == "Order.Filled"]
    assert [e.meta.actor for e in fills] == [RECONCILIATION_ACTOR]
    assert fills[0].meta.correlation_id.startswith("reconcile-")


def test_a_paper_account_is_the_same_after_a_restart(execution: Execution) -> None:
    world = execution.world
    bot_id = world.running_bot()
    world.place(bot_id, "p-1", "buy", "0.1")
    world.place(bot_id, "p-2", "sell", "0.15", "51000")
    execution.cycle()
    account = execution.accounts.paper("paper").account.exchange
    before = (dict(account.balances), account.trades(), account.open_orders(BTC))
    execution.restart()
    again = execution.accounts.paper("paper").account.exchange
    assert (dict(again.balances), again.trades(), again.open_orders(BTC)) == before
    assert again.balances["BTC"] == Decimal("1.1")
