"""The paper exchange under arbitrary orders, cancels and price paths: no order fills beyond its
quantity, no balance goes below zero (nor below what open orders hold back), the balances equal
the opening balances plus the sum of the fills, and the same seed and path give the same fills."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from application.gateway import ExchangeStatus, OrderRefused
from domain.ids import ClientOrderId
from domain.orders import OrderRequest
from domain.values import MarketSpec, OrderType, Side, Symbol, TimeInForce
from infrastructure.paper_exchange import PaperExchange, PaperSettings

BTC = Symbol("BTC", "USDT")
SPEC = MarketSpec(Decimal("0.001"), Decimal("0.01"), Decimal("0.001"), Decimal("0"))
OPENING = {"USDT": Decimal("20000"), "BTC": Decimal("0.5")}

prices = st.integers(min_value=40_000_00, max_value=60_000_00).map(lambda cents: Decimal(cents) / 100)
quantities = st.integers(min_value=1, max_value=300).map(lambda n: Decimal(n) / 1000)


@st.composite
def orders(draw: Any) -> tuple[str, OrderRequest]:
    kind = draw(st.sampled_from(list(OrderType)))
    return "order", OrderRequest(
        client_order_id=ClientOrderId("x"),  # numbered when placed
        symbol=BTC,
        side=draw(st.sampled_from(list(Side))),
        order_type=kind,
        quantity=draw(quantities),
        price=draw(prices) if kind.needs_price else None,
        stop_price=draw(prices) if kind.needs_stop_price else None,
        time_in_force=draw(st.sampled_from(list(TimeInForce))),
    )


actions = st.lists(
    st.one_of(
        prices.map(lambda p: ("price", p)),
        orders(),
        orders(),
        st.integers(min_value=0, max_value=30).map(lambda n: ("cancel", n)),
    ),
    min_size=5,
    max_size=60,
)
paper_settings = st.builds(
    PaperSettings,
    maker_fee=st.sampled_from([Decimal(0), Decimal("0.001")]),
    taker_fee=st.sampled_from([Decimal("0.001"), Decimal("0.0025")]),
    slippage_bps=st.sampled_from([Decimal(0), Decimal(5), Decimal(50)]),
    partial_fills=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**16),
)


def _play(config: PaperSettings, steps: list[tuple[str, Any]], check: bool) -> PaperExchange:
    exchange = PaperExchange(
        dict(OPENING), {BTC: SPEC}, now=lambda: datetime(2026, 1, 1, tzinfo=UTC), settings=config
    )
    exchange.set_price(BTC, Decimal("50000"))
    placed: list[str] = []
    for kind, value in steps:
        if kind == "price":
            exchange.set_price(BTC, value)
        elif kind == "order":
            coid = f"o{len(placed)}"
            try:
                exchange.submit(OrderRequest(**{**value.__dict__, "client_order_id": ClientOrderId(coid)}))
                placed.append(coid)
            except OrderRefused as refused:
                assert "insufficient funds" in str(refused)
        elif placed:
            exchange.cancel(placed[value % len(placed)])
        if check:
            _check(exchange, placed)
    return exchange


def _check(exchange: PaperExchange, placed: list[str]) -> None:
    fills: dict[str, Decimal] = {}
    base, quote = OPENING["BTC"], OPENING["USDT"]
    for trade in exchange.trades():
        fills[trade.client_order_id] = fills.get(trade.client_order_id, Decimal(0)) + trade.quantity
        base += trade.side.sign * trade.quantity
        quote -= trade.side.sign * trade.quantity * trade.price + trade.fee
        assert trade.quantity > 0 and trade.fee >= 0
    for coid in placed:
        order = exchange.lookup(coid)
        assert order is not None
        assert fills.get(coid, Decimal(0)) == order.filled <= order.quantity
        assert (order.status is ExchangeStatus.FILLED) == (order.filled == order.quantity)
    assert exchange.balances["BTC"] == base and exchange.balances["USDT"] == quote
    for currency in ("BTC", "USDT"):
        assert exchange.balances[currency] >= 0 and exchange.free(currency) >= 0, currency


@settings(max_examples=300, deadline=None)
@given(paper_settings, actions)
def test_fills_stay_within_orders_and_balances_within_the_account(
    config: PaperSettings, steps: list[tuple[str, Any]]
) -> None:
    _play(config, steps, check=True)


@settings(max_examples=100, deadline=None)
@given(paper_settings, actions)
def test_the_same_seed_and_path_give_the_same_fills(
    config: PaperSettings, steps: list[tuple[str, Any]]
) -> None:
    assert _play(config, steps, check=False).trades() == _play(config, steps, check=False).trades()
