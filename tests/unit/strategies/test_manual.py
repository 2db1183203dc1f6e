"""manual: no parameters, no decisions."""

from __future__ import annotations

import pytest

from application.strategies.builtin.manual import Manual
from domain.errors import InvalidInput
from domain.values import Side
from tests.unit.strategies.market import BTC, candles, limit, view


def test_it_takes_no_parameters_and_decides_nothing() -> None:
    strategy = Manual()
    params = strategy.parse({})
    assert strategy.plain(params) == {}
    assert strategy.decide(params, {BTC: candles(BTC, [1, 2, 3])}, view(orders=[limit(Side.BUY, 1)])) == []
    with pytest.raises(InvalidInput) as refused:
        strategy.parse({"levels": 3})
    assert (refused.value.field, refused.value.rule) == (
        "params.levels",
        "is not a parameter of manual (its parameters: none)",
    )
