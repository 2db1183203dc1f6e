"""The indicator helpers: Decimal closes into TA-Lib and back."""

from __future__ import annotations

import math

import pytest

from application.strategies.indicators import closes, latest, rsi, sma
from tests.unit.strategies.market import BTC, candles


def test_sma_and_rsi_of_candle_closes() -> None:
    values = closes(candles(BTC, ["1.5", 2, "2.5", 3, "2.5"]))
    assert values.dtype.name == "float64" and list(values) == [1.5, 2.0, 2.5, 3.0, 2.5]
    averages = sma(values, 2)
    assert math.isnan(averages[0]) and list(averages[1:]) == [1.75, 2.25, 2.75, 2.75]
    assert latest(averages) == 2.75 and latest(averages, 3) == 1.75 and latest(averages, 4) is None
    assert latest(averages, 5) is None
    strength = rsi(values, 2)
    assert latest(strength, 1) == 100.0  # only gains so far
    assert latest(strength) == pytest.approx(50.0)  # Wilder: gains 0.25, losses 0.25 after the drop
