"""rebalance over two symbols: half the equity in BTC, 30% in ETH, traded back past 5 points."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.strategies.builtin.rebalance import Rebalance
from domain.errors import InvalidInput
from domain.market import Candle
from domain.strategy import Place
from domain.values import Side, Symbol
from tests.unit.strategies.market import BTC, ETH, candles, limit, view

STRATEGY = Rebalance()
PARAMS = STRATEGY.parse(
    {"weights": {"BTC/USDT": "0.5", "ETH/USDT": "0.3"}, "threshold": "0.05", "capital": "10000"}
)


def market(btc: object, eth: object) -> dict[Symbol, list[Candle]]:
    return {BTC: candles(BTC, [btc]), ETH: candles(ETH, [eth])}


def test_a_flat_bot_buys_every_symbol_up_to_its_weight() -> None:
    decided = STRATEGY.decide(PARAMS, market(50000, 2500), view())
    assert decided == [Place(BTC, Side.BUY, Decimal("0.1")), Place(ETH, Side.BUY, Decimal("1.2"))]


def test_a_drift_within_the_threshold_is_left_alone() -> None:
    # BTC up 20%: equity 11000, BTC 6000 of it (54.5%), ETH 3000 (27.3%)
    held = view(positions={BTC: ("0.1", "50000"), ETH: ("1.2", "2500")}, marks={BTC: 60000, ETH: 2500})
    assert STRATEGY.decide(PARAMS, market(60000, 2500), held) == []


def test_a_drift_past_the_threshold_is_traded_back_to_the_target() -> None:
    # BTC up 50%: equity 12500, BTC 7500 of it (60%): sell back to 6250; ETH 3000 (24%): buy to 3750
    held = view(positions={BTC: ("0.1", "50000"), ETH: ("1.2", "2500")}, marks={BTC: 75000, ETH: 2500})
    decided = STRATEGY.decide(PARAMS, market(75000, 2500), held)
    assert decided == [
        Place(BTC, Side.SELL, Decimal(1250) / Decimal(75000)),
        Place(ETH, Side.BUY, Decimal("0.3")),
    ]


def test_a_symbol_with_an_order_open_waits_and_a_sell_never_exceeds_what_is_held() -> None:
    params = STRATEGY.parse(
        {"weights": {"BTC/USDT": "0", "ETH/USDT": "0.3"}, "threshold": "0.05", "capital": "10000"}
    )
    held = view(
        positions={BTC: ("0.1", "50000")},
        orders=[limit(Side.BUY, 2400, symbol=ETH)],
        marks={BTC: 50000, ETH: 2500},
    )
    assert STRATEGY.decide(params, market(50000, 2500), held) == [Place(BTC, Side.SELL, Decimal("0.1"))]


def test_it_trades_the_weighted_symbols_the_bot_may_trade() -> None:
    sol = Symbol("SOL", "USDT")
    assert STRATEGY.symbols(PARAMS, [sol, ETH, BTC]) == [ETH, BTC]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"weights": {"BTC/USDT": "0.8", "ETH/USDT": "0.3"}}, "params.weights"),
        ({"weights": {"BTC/USDT": "0.5", "ETH/BTC": "0.3"}}, "params.weights"),
        ({"weights": {"btc/usdt": "0.5"}}, "params.weights.btc/usdt"),
        ({"weights": {"BTC/USDT": "-0.5"}}, "params.weights.BTC/USDT"),
        ({"weights": {}}, "params.weights"),
        ({"weights": {"BTC/USDT": "0.5"}, "threshold": "0"}, "params.threshold"),
    ],
)
def test_its_parameters(params: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        STRATEGY.parse({"threshold": "0.05", "capital": "10000", **params})
    assert refused.value.field == field
