"""A strategy's screen is a superset: on every candle it leaves out, ``decide`` (given the window
the runtime would give it, flat or holding) returns nothing. So a backtest that calls ``decide``
on the screened candles only makes exactly the decisions it would make calling it on every one."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from application.strategies.builtin.sma_cross import SmaCross
from application.strategies.indicators import closes
from tests.unit.strategies.market import BTC, candles, view

SMA = SmaCross()


@st.composite
def series(draw: st.DrawFn) -> list[Decimal]:
    """Prices in cents that wander, with flat stretches (the averages tie there) and jumps."""
    steps = draw(st.lists(st.sampled_from([-300, -7, -1, 0, 0, 0, 1, 7, 300]), min_size=30, max_size=160))
    price, path = 50_000_00, []
    for step in steps:
        price = max(100, price + step)
        path.append(Decimal(price) / 100)
    return path


@settings(max_examples=60, deadline=None)
@given(path=series(), fast=st.integers(1, 5), wider=st.integers(1, 12))
def test_sma_cross_decides_nothing_off_its_screen(path: list[Decimal], fast: int, wider: int) -> None:
    params = SMA.parse({"fast": fast, "slow": fast + wider, "quantity": "1"})
    every = candles(BTC, path)
    screened = SMA.screen(params, {BTC: closes(every)})
    assert screened is not None and len(screened) == len(every)
    warmup = SMA.warmup(params)
    for k in (int(i) for i in np.flatnonzero(~screened)):
        window = {BTC: every[max(0, k + 1 - warmup) : k + 1]}
        assert SMA.decide(params, window, view()) == [], k
        assert SMA.decide(params, window, view(positions={BTC: ("1", "100")})) == [], k
