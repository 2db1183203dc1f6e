"""Execution on a real exchange account: the ccxt gateway, driven through real ccxt, against a local
server that speaks Binance's spot REST API (signed requests checked), with its faults switched on:
an answer that comes after the client gave up, fills listed twice and out of order, 429 and 5xx
bursts, a cancel the exchange does not know."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from application import commands as c
from application.errors import OrderDenied
from application.execution import RECONCILIATION_ACTOR
from domain.ids import BotId, position_id_for
from domain.order_states import OrderStatus
from domain.position import Position
from domain.risk import ReasonCode
from domain.values import MarketSpec, Symbol
from infrastructure.ccxt_accounts import CcxtAccounts
from infrastructure.ccxt_gateway import RetryPolicy
from infrastructure.credentials import CredentialStore, ExchangeCredentials, new_key
from infrastructure.exchange_markets import ExchangeMarketStore
from infrastructure.settings import Settings
from tests.support.execution import SETTLE, Execution, execution_on
from tests.support.fake_binance import API_KEY, SECRET, FakeBinance
from tests.support.world import ACTOR, BTC

ACCOUNT = "binance-test"
KEY = new_key()
TIMEOUT = 1.0


def _accounts(container: Any) -> CcxtAccounts:
    engine, clock = container.read_engine(), container.clock()
    return CcxtAccounts(
        CredentialStore(engine, KEY, clock.now),
        ExchangeMarketStore(engine, clock.now),
        timeout_seconds=TIMEOUT,
        retry=RetryPolicy(attempts=4, first_delay=0.01),
        streams=False,  # step by step, polling only: the streams are tested on a running worker
    )


@pytest.fixture
def execution(any_settings: Settings, fake: FakeBinance) -> Iterator[Execution]:
    with execution_on(any_settings, live=_accounts) as running:
        _credentials(running).save(_account_at(fake))
        running.start()
        yield running


def _credentials(execution: Execution) -> CredentialStore:
    return CredentialStore(execution.container.read_engine(), KEY, execution.clock.now)


def _account_at(fake: FakeBinance) -> ExchangeCredentials:
    return ExchangeCredentials(ACCOUNT, "binance", False, fake.url, API_KEY, SECRET)


def _bot(execution: Execution) -> BotId:
    return BotId(execution.world.running_bot(account=ACCOUNT))


def _position(execution: Execution, bot_id: BotId) -> Decimal:
    position = execution.world.store.find(Position, position_id_for(bot_id, "BTC/USDT"))
    return position.quantity if position is not None else Decimal(0)


def test_the_exchange_markets_are_the_risk_rules_markets(execution: Execution) -> None:
    markets = execution.container.markets()
    assert markets.market(ACCOUNT, BTC) == MarketSpec(
        Decimal("0.00001"), Decimal("0.01"), Decimal("0.00001"), Decimal(5)
    )
    assert markets.market(ACCOUNT, Symbol("SOL", "USDT")) is None  # the exchange does not list it
    bot_id = _bot(execution)
    with pytest.raises(OrderDenied) as denied:
        execution.world.place(bot_id, "tiny", "buy", "0.00005", "50000")  # 2.5 USDT, under 5
    assert denied.value.reason_codes == [ReasonCode.BELOW_MIN_NOTIONAL]


def test_a_market_order_is_sent_once_signed_and_its_fill_recorded(
    execution: Execution, fake: FakeBinance
) -> None:
    bot_id = _bot(execution)
    order_id = execution.world.place(bot_id, "m-1", "buy", "0.1")
    execution.cycle()
    order = execution.order(order_id)
    at_exchange = fake.order_by_client_id(order_id.hex)
    assert at_exchange is not None and at_exchange.type == "MARKET"
    assert order.status is OrderStatus.FILLED
    assert order.exchange_order_id == str(at_exchange.order_id)
    assert order.trade_ids == [str(t.trade_id) for t in at_exchange.trades]
    assert order.average_fill_price == Decimal(50000)
    assert order.fees_quote == Decimal("0.0001") * Decimal(50000)  # 0.1% taken in BTC, valued at the fill
    assert _position(execution, bot_id) == Decimal("0.1")
    assert fake.requests["POST /api/v3/order"] == 1


def test_fills_that_cannot_be_read_yet_are_brought_in_later(execution: Execution, fake: FakeBinance) -> None:
    fake.faults.trades_unavailable = 4  # every attempt of the first read of the order's trades
    bot_id = _bot(execution)
    order_id = execution.world.place(bot_id, "u-1", "buy", "0.1")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.ACCEPTED  # filled at the exchange, trades unread
    execution.clock.advance(seconds=1)
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.FILLED
    assert _position(execution, bot_id) == Decimal("0.1")
    assert fake.requests["POST /api/v3/order"] == 1


def test_orders_of_an_account_whose_credentials_were_removed_wait_for_them(
    execution: Execution, fake: FakeBinance
) -> None:
    bot_id = _bot(execution)
    order_id = execution.world.place(bot_id, "c-1", "buy", "0.1", "49000")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.ACCEPTED
    store = _credentials(execution)
    assert store.remove(ACCOUNT)
    fake.set_price("BTCUSDT", Decimal(48000))
    execution.restart()
    execution.start()  # reconciling an order it cannot ask about: it waits
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.ACCEPTED
    store.save(_account_at(fake))
    execution.clock.advance(seconds=1)
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.FILLED
    assert _position(execution, bot_id) == Decimal("0.1")


def test_a_fee_paid_in_bnb_counts_at_the_exchanges_bnb_price(execution: Execution, fake: FakeBinance) -> None:
    fake.fees_in_bnb = True
    bot_id = _bot(execution)
    order_id = execution.world.place(bot_id, "bnb-1", "buy", "0.1")
    execution.cycle()
    order = execution.order(order_id)
    [trade] = fake.order_by_client_id(order_id.hex).trades  # type: ignore[union-attr]
    assert order.status is OrderStatus.FILLED and trade.commission_asset == "BNB"
    assert trade.commission == Decimal("0.00625")  # 5000 USDT x 0.1% x 0.75, at 600 USDT a BNB
    assert order.fees_quote == Decimal("3.75")
    assert _position(execution, bot_id) == Decimal("0.1")  # the fee is not taken from the BTC


def test_a_resting_limit_fills_when_the_exchange_fills_it_and_a_cancel_is_carried_out(
    execution: Execution, fake: FakeBinance
) -> None:
    bot_id = _bot(execution)
    resting = execution.world.place(bot_id, "l-1", "buy", "0.1", "49000")
    cancelled = execution.world.place(bot_id, "l-2", "buy", "0.1", "48000")
    execution.cycle()
    assert execution.status(resting) is OrderStatus.ACCEPTED
    fake.set_price("BTCUSDT", Decimal(48900))
    execution.world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=cancelled))
    execution.cycle()
    assert execution.status(resting) is OrderStatus.FILLED
    assert execution.order(resting).average_fill_price == Decimal(49000)
    assert execution.status(cancelled) is OrderStatus.CANCELLED
    assert fake.order_by_client_id(cancelled.hex).status == "CANCELED"  # type: ignore[union-attr]


def test_an_order_the_exchange_refuses_is_rejected_with_its_reason(
    execution: Execution, fake: FakeBinance
) -> None:
    fake.balances["USDT"] = Decimal(100)
    order_id = execution.world.place(_bot(execution), "big-1", "buy", "0.1", "50000")
    execution.cycle()
    order = execution.order(order_id)
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "Account has insufficient balance for requested action."


def test_an_answer_that_comes_too_late_is_looked_up_never_resent(
    execution: Execution, fake: FakeBinance
) -> None:
    fake.faults.answer_late, fake.faults.late_seconds = 1, TIMEOUT * 2
    order_id = execution.world.place(_bot(execution), "t-1", "buy", "0.1")
    execution.cycle()  # the exchange filled it; the answer did not come in time
    assert execution.status(order_id) is OrderStatus.SUBMITTED
    execution.clock.advance(seconds=1)
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.FILLED
    assert fake.count_orders() == 1 and fake.requests["POST /api/v3/order"] == 1


def test_fills_listed_twice_and_out_of_order_are_recorded_once_in_exchange_order(
    execution: Execution, fake: FakeBinance
) -> None:
    fake.fill_parts, fake.faults.trades_twice = 3, True
    bot_id = _bot(execution)
    order_id = execution.world.place(bot_id, "p-1", "buy", "0.15")
    execution.cycle()
    execution.cycle()
    order = execution.order(order_id)
    trades = fake.order_by_client_id(order_id.hex).trades  # type: ignore[union-attr]
    assert order.trade_ids == [str(t.trade_id) for t in trades]  # each once, oldest first
    assert order.status is OrderStatus.FILLED and order.filled_quantity == Decimal("0.15")
    assert len(trades) == 3 and _position(execution, bot_id) == Decimal("0.15")


def test_a_burst_of_429s_is_ridden_out_with_bounded_retries(execution: Execution, fake: FakeBinance) -> None:
    fake.faults.throttle = 3  # within the four attempts
    order_id = execution.world.place(_bot(execution), "r-1", "buy", "0.1")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.FILLED
    assert fake.requests["POST /api/v3/order"] == 4 and fake.count_orders() == 1


def test_a_longer_429_burst_gives_up_and_the_order_is_sent_later_once(
    execution: Execution, fake: FakeBinance
) -> None:
    fake.faults.throttle = 4  # every attempt of the submission, nothing done at the exchange
    order_id = execution.world.place(_bot(execution), "r-2", "buy", "0.1")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.SUBMITTED and fake.count_orders() == 0
    execution.clock.advance(seconds=SETTLE + 1)  # the lookup finds nothing; it can no longer arrive
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.FILLED
    assert fake.count_orders() == 1


def test_a_5xx_on_submit_is_an_unknown_outcome_looked_up_then_sent_once(
    execution: Execution, fake: FakeBinance
) -> None:
    fake.faults.unavailable = 1
    order_id = execution.world.place(_bot(execution), "u-1", "buy", "0.1")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.SUBMITTED
    execution.clock.advance(seconds=1)
    execution.cycle()  # looked up: not there, but the settle window is still open
    assert execution.status(order_id) is OrderStatus.SUBMITTED and fake.count_orders() == 0
    execution.clock.advance(seconds=SETTLE)
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.FILLED and fake.count_orders() == 1


def test_a_cancel_the_exchange_does_not_know_ends_in_the_orders_true_state(
    execution: Execution, fake: FakeBinance
) -> None:
    bot_id = _bot(execution)
    order_id = execution.world.place(bot_id, "c-1", "sell", "0.1", "51000")
    execution.cycle()
    fake.set_price("BTCUSDT", Decimal(51500))  # filled at the exchange before the cancel gets there
    execution.world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id))
    execution.cycle()
    order = execution.order(order_id)
    assert order.status is OrderStatus.FILLED and order.average_fill_price == Decimal(51000)
    assert _position(execution, bot_id) == Decimal("-0.1")


def test_a_cancel_refused_while_the_order_stays_open_is_recorded_as_refused(
    execution: Execution, fake: FakeBinance
) -> None:
    order_id = execution.world.place(_bot(execution), "c-2", "buy", "0.1", "48000")
    execution.cycle()
    fake.faults.cancel_unknown = 1
    execution.world.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=order_id))
    execution.cycle()
    order = execution.order(order_id)
    assert order.status is OrderStatus.ACCEPTED and fake.order_by_client_id(order_id.hex).open  # type: ignore[union-attr]


def test_a_restart_reconciles_fills_made_while_execution_was_away(
    execution: Execution, fake: FakeBinance
) -> None:
    order_id = execution.world.place(_bot(execution), "a-1", "buy", "0.1", "49000")
    execution.cycle()
    execution.restart()
    fake.set_price("BTCUSDT", Decimal(48000))
    before = execution.world.store.last_position()
    assert execution.start() == 1
    assert execution.status(order_id) is OrderStatus.FILLED
    actors = {e.meta.actor for e in execution.world.new_events(before) if hasattr(e, "meta")}
    assert actors == {RECONCILIATION_ACTOR}
