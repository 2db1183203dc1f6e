"""Indicators from TA-Lib (its official Python package, which ships the C library in its wheels):
thin helpers from candles with Decimal prices to float64 arrays and back. Indicator values are
floats: they are compared with each other and with thresholds, never booked as money. The first
values of an indicator, before it has enough closes, are NaN (``latest`` gives None for them)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import talib
from numpy.typing import NDArray

from domain.market import Candle

Series = NDArray[np.float64]
Flags = NDArray[np.bool_]
"""One flag per candle (a strategy's screen)."""


def closes(candles: Sequence[Candle]) -> Series:
    """The candles' closes, oldest first, as a float64 array."""
    return np.array([float(candle.close) for candle in candles], dtype=np.float64)


def sma(values: Series, period: int) -> Series:
    """Simple moving average of ``period`` values."""
    return talib.SMA(values, timeperiod=period)


def rsi(values: Series, period: int) -> Series:
    """Wilder's relative strength index over ``period`` values (0 to 100)."""
    return talib.RSI(values, timeperiod=period)


def latest(series: Series, back: int = 0) -> float | None:
    """The value ``back`` places before the last one, or None when there is none yet (NaN)."""
    if len(series) <= back:
        return None
    value = float(series[-1 - back])
    return None if math.isnan(value) else value
