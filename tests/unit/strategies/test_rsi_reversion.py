"""rsi_reversion on hand-made candles: RSI over 2 closes, so it reads the last 9."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.strategies.builtin.rsi_reversion import RsiReversion
from domain.errors import InvalidInput
from domain.strategy import Close, Place
from domain.values import Side
from tests.unit.strategies.market import BTC, candles, limit, view

STRATEGY = RsiReversion()
PARAMS = STRATEGY.parse({"period": 2, "quantity": "1"})
FALLING = [100, 99, 98, 97, 96, 95, 94, 93, 92]  # RSI 0
RISING = [92, 93, 94, 95, 96, 97, 98, 99, 100]  # RSI 100
CHOPPY = [100, 101, 100, 101, 100, 101, 100, 101, 100]  # in between


def test_it_reads_four_periods_of_closes_and_defaults_to_fourteen() -> None:
    assert STRATEGY.warmup(PARAMS) == 9
    defaults = STRATEGY.parse({"quantity": "1"})
    assert (defaults.period, defaults.oversold, defaults.overbought) == (14, Decimal(30), Decimal(70))
    assert STRATEGY.warmup(defaults) == 57


def test_oversold_buys_when_flat() -> None:
    assert STRATEGY.decide(PARAMS, {BTC: candles(BTC, FALLING)}, view()) == [Place(BTC, Side.BUY, Decimal(1))]
    assert STRATEGY.decide(PARAMS, {BTC: candles(BTC, FALLING)}, view(positions={BTC: ("1", "95")})) == []
    assert STRATEGY.decide(PARAMS, {BTC: candles(BTC, FALLING)}, view(orders=[limit(Side.BUY, 90)])) == []


def test_overbought_closes_what_it_holds() -> None:
    assert STRATEGY.decide(PARAMS, {BTC: candles(BTC, RISING)}, view(positions={BTC: ("1", "92")})) == [
        Close(BTC)
    ]
    assert STRATEGY.decide(PARAMS, {BTC: candles(BTC, RISING)}, view()) == []


def test_in_between_or_without_enough_closes_it_does_nothing() -> None:
    assert STRATEGY.decide(PARAMS, {BTC: candles(BTC, CHOPPY)}, view()) == []
    assert STRATEGY.decide(PARAMS, {BTC: candles(BTC, CHOPPY)}, view(positions={BTC: ("1", "92")})) == []
    assert STRATEGY.decide(PARAMS, {BTC: candles(BTC, FALLING[-5:])}, view()) == []


def test_the_same_decision_however_many_candles_were_served() -> None:
    """Wilder's smoothing would carry older closes along: only the last warm-up closes count."""
    params = STRATEGY.parse({"period": 2, "quantity": "1", "oversold": "20"})
    recent = [100, 104, 96, 100, 99, 98, 100, 97, 96]
    older = [150, 10, 150, 10, 150, 10]
    decided = STRATEGY.decide(params, {BTC: candles(BTC, recent)}, view())
    assert decided == [Place(BTC, Side.BUY, Decimal(1))]  # RSI 19.6 here, 27.0 over every close
    assert STRATEGY.decide(params, {BTC: candles(BTC, older + recent)}, view()) == decided


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"quantity": "1", "oversold": "70", "overbought": "30"}, "params.oversold"),
        ({"quantity": "1", "oversold": "0"}, "params.oversold"),
        ({"quantity": "1", "overbought": "100"}, "params.overbought"),
        ({"quantity": "1", "overbought": 70.5}, "params.overbought"),
        ({"quantity": "1", "period": 1}, "params.period"),
    ],
)
def test_its_parameters(params: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        STRATEGY.parse(params)
    assert refused.value.field == field
