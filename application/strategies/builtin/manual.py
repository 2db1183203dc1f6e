"""``manual``: a bot traded by hand through the API; the strategy decides nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from application.strategies.base import NoParams, Strategy
from domain.market import Candle
from domain.strategy import BotView, Intent
from domain.values import Symbol


class Manual(Strategy[NoParams]):
    name = "manual"
    description = "Traded by hand through the API: no parameters, never decides anything."
    Params = NoParams
    trades = False

    def decide(
        self, params: NoParams, candles: Mapping[Symbol, Sequence[Candle]], view: BotView
    ) -> list[Intent]:
        return []
