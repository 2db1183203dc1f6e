"""A backtest's pictures: the equity curve over its drawdown, and the price with the fills on it
(matplotlib, written as PNG files; a long series is thinned to a few thousand points to draw)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import matplotlib
import numpy as np
from numpy.typing import NDArray

matplotlib.use("Agg")  # files only: no screen

import matplotlib.pyplot as plt

from application.backtest.results import BacktestFill
from domain.market import Candle
from domain.values import Side

POINTS = 4000
PNG_METADATA = {"Software": None}
"""No matplotlib version in the files: the same backtest gives the same bytes whichever draws it."""


def _times(moments: Sequence[datetime]) -> NDArray[np.datetime64]:
    return np.array([m.replace(tzinfo=None) for m in moments], dtype="datetime64[ms]")  # UTC


def equity_chart(path: Path, candles: Sequence[Candle], equity: Sequence[Decimal]) -> Path:
    step = max(1, len(candles) // POINTS)
    times = _times([c.opened_at for c in candles[::step]])
    values = [float(e) for e in equity[::step]]
    peak, drawdown = float("-inf"), []
    for value in values:
        peak = max(peak, value)
        drawdown.append(value / peak - 1 if peak > 0 else 0.0)
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 6), height_ratios=(3, 1))
    top.plot(times, values, color="tab:blue", linewidth=1)
    top.set_ylabel("equity")
    top.set_title("Equity")
    bottom.fill_between(times, drawdown, 0, color="tab:red", alpha=0.4)
    bottom.set_ylabel("drawdown")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata=PNG_METADATA)
    plt.close(figure)
    return path


def price_chart(path: Path, candles: Sequence[Candle], fills: Sequence[BacktestFill]) -> Path:
    step = max(1, len(candles) // POINTS)
    figure, axes = plt.subplots(figsize=(11, 5))
    closes = [float(c.close) for c in candles[::step]]
    axes.plot(_times([c.opened_at for c in candles[::step]]), closes, color="0.4", linewidth=0.8)
    for side, marker, color in ((Side.BUY, "^", "tab:green"), (Side.SELL, "v", "tab:red")):
        chosen = [f for f in fills if f.side is side]
        if chosen:
            at, prices = _times([f.time for f in chosen]), [float(f.price) for f in chosen]
            axes.scatter(at, prices, marker=marker, color=color, s=28, label=side.value, zorder=3)
    if fills:
        axes.legend()
    axes.set_title(f"{candles[0].symbol} with the fills" if candles else "price")
    axes.set_ylabel("price")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata=PNG_METADATA)
    plt.close(figure)
    return path
