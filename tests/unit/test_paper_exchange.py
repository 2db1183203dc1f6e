"""The paper exchange's matching rules, one by one (the invariants are in tests/properties)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from application.gateway import ExchangeStatus, OrderRefused, OrderUnknown
from domain.ids import ClientOrderId
from domain.orders import OrderRequest
from domain.values import MarketSpec, OrderType, Side, Symbol, TimeInForce
from infrastructure.paper_exchange import PaperExchange, PaperSettings

BTC = Symbol("BTC", "USDT")
SPEC = MarketSpec(Decimal("0.001"), Decimal("0.01"), Decimal("0.001"), Decimal("0"))


def _exchange(usdt: str = "100000", btc: str = "1", **settings: object) -> PaperExchange:
    config = PaperSettings(**{"slippage_bps": Decimal("10"), **settings})  # type: ignore[arg-type]
    exchange = PaperExchange(
        {"USDT": Decimal(usdt), "BTC": Decimal(btc)},
        {BTC: SPEC},
        now=lambda: datetime(2026, 1, 1, tzinfo=UTC),
        settings=config,
    )
    exchange.set_price(BTC, Decimal("50000"))
    return exchange


def _order(
    coid: str,
    side: str,
    quantity: str,
    kind: OrderType = OrderType.LIMIT,
    price: str | None = None,
    stop: str | None = None,
    tif: TimeInForce = TimeInForce.GTC,
) -> OrderRequest:
    return OrderRequest(
        ClientOrderId(coid),
        BTC,
        Side(side),
        kind,
        Decimal(quantity),
        Decimal(price) if price else None,
        Decimal(stop) if stop else None,
        tif,
    )


def test_a_market_buy_fills_at_once_with_slippage_and_the_taker_fee() -> None:
    exchange = _exchange()
    placed = exchange.submit(_order("m", "buy", "0.1", OrderType.MARKET))
    [trade] = exchange.trades()
    assert placed.status is ExchangeStatus.FILLED and trade.price == Decimal("50050.00")
    assert trade.fee == Decimal("0.1") * Decimal("50050") * Decimal("0.001") and not trade.maker
    assert exchange.balances["BTC"] == Decimal("1.1")
    assert exchange.balances["USDT"] == Decimal("100000") - Decimal("5005") - trade.fee


def test_a_resting_limit_fills_at_its_limit_as_maker_when_the_price_reaches_it() -> None:
    exchange = _exchange()
    assert exchange.submit(_order("l", "buy", "0.2", price="49000")).status is ExchangeStatus.OPEN
    assert exchange.free("USDT") < exchange.balances["USDT"]  # reserved
    assert exchange.set_price(BTC, Decimal("49500")) == []
    [trade] = exchange.set_price(BTC, Decimal("48900"))
    assert (trade.price, trade.maker, trade.quantity) == (Decimal("49000"), True, Decimal("0.2"))
    assert exchange.free("USDT") == exchange.balances["USDT"]  # nothing held back any more


def test_a_marketable_limit_fills_at_the_current_price_never_beyond_its_limit() -> None:
    exchange = _exchange()
    exchange.submit(_order("a", "buy", "0.1", price="50020"))
    exchange.submit(_order("b", "sell", "0.1", price="49000"))
    first, second = exchange.trades()
    assert (first.price, first.maker) == (Decimal("50020"), False)  # slipped to 50050, capped
    assert (second.price, second.maker) == (Decimal("49950.00"), False)


def test_stops_wait_for_their_price_then_act() -> None:
    exchange = _exchange()
    exchange.submit(_order("s", "sell", "0.5", OrderType.STOP_MARKET, stop="48000"))
    assert exchange.set_price(BTC, Decimal("48500")) == []
    [trade] = exchange.set_price(BTC, Decimal("47900"))
    assert trade.price == Decimal("47852.10") and exchange.lookup("s").status is ExchangeStatus.FILLED  # type: ignore[union-attr]


def test_ioc_fills_what_it_can_at_once_and_fok_all_or_nothing() -> None:
    exchange = _exchange(partial_fills=True, seed=3)
    ioc = exchange.submit(_order("i", "buy", "0.4", OrderType.MARKET, tif=TimeInForce.IOC))
    assert ioc.status in (ExchangeStatus.EXPIRED, ExchangeStatus.FILLED) and ioc.filled > 0
    resting = exchange.submit(_order("f", "buy", "0.4", price="45000", tif=TimeInForce.FOK))
    assert (resting.status, resting.filled) == (ExchangeStatus.EXPIRED, Decimal(0))
    whole = exchange.submit(_order("g", "buy", "0.4", price="51000", tif=TimeInForce.FOK))
    assert (whole.status, whole.filled) == (ExchangeStatus.FILLED, Decimal("0.4"))


def test_partial_fills_are_the_same_for_the_same_seed() -> None:
    def fills(seed: int) -> list[Decimal]:
        exchange = _exchange(partial_fills=True, seed=seed)
        exchange.submit(_order("p", "buy", "0.9", price="49000"))
        for price in ("48900", "48800", "48700", "48600", "48500", "48400"):
            exchange.set_price(BTC, Decimal(price))
        return [t.quantity for t in exchange.trades()]

    assert fills(7) == fills(7) and sum(fills(7)) <= Decimal("0.9")
    assert len(fills(7)) > 1


def test_orders_the_account_cannot_pay_for_are_refused() -> None:
    exchange = _exchange(usdt="1000", btc="0.01")
    with pytest.raises(OrderRefused, match=r"insufficient funds: needs .* USDT"):
        exchange.submit(_order("big", "buy", "0.1", price="50000"))
    with pytest.raises(OrderRefused, match=r"needs 0\.02 BTC"):
        exchange.submit(_order("short", "sell", "0.02", price="50000"))
    assert exchange.lookup("big") is None


def test_a_gap_past_what_a_stop_reserved_never_takes_the_balance_below_zero() -> None:
    exchange = _exchange(usdt="10500", btc="0")
    exchange.submit(_order("gap", "buy", "0.2", OrderType.STOP_MARKET, stop="52000"))
    assert exchange.free("USDT") < 100  # about 10,421 USDT held back for it
    exchange.set_price(BTC, Decimal("60000"))  # triggered far above what it reserved
    order = exchange.lookup("gap")
    assert order is not None and order.status is ExchangeStatus.EXPIRED and order.filled == Decimal("0.174")
    assert Decimal(0) <= exchange.balances["USDT"] == exchange.free("USDT") < Decimal("61")


def test_cancel_releases_what_the_order_held_and_answers_final_orders_as_they_are() -> None:
    exchange = _exchange()
    exchange.submit(_order("c", "buy", "0.2", price="40000"))
    assert exchange.cancel("c").status is ExchangeStatus.CANCELLED
    assert exchange.free("USDT") == exchange.balances["USDT"]
    assert exchange.cancel("c").status is ExchangeStatus.CANCELLED
    with pytest.raises(OrderUnknown):
        exchange.cancel("never")


def test_the_same_client_order_id_is_the_same_order() -> None:
    exchange = _exchange()
    first = exchange.submit(_order("same", "buy", "0.1", price="40000"))
    assert exchange.submit(_order("same", "buy", "0.1", price="40000")) == first
    assert len([o for o in ("same",) if exchange.lookup(o)]) == 1 and exchange.trades() == []


def test_with_partial_fills_a_market_order_sweeps_in_several_trades_and_never_rests() -> None:
    exchange = _exchange(partial_fills=True, seed=3)
    placed = exchange.submit(_order("sweep", "buy", "0.5", OrderType.MARKET))
    trades = exchange.trades()
    assert placed.status is ExchangeStatus.FILLED and len(trades) > 1
    assert sum(t.quantity for t in trades) == Decimal("0.5") and exchange.open_orders(BTC) == []
    exchange.set_price(BTC, Decimal("90000"))  # a later price touches nothing it holds back
    assert exchange.free("USDT") == exchange.balances["USDT"]
