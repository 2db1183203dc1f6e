"""``external``: a bot whose decisions are made outside tbot (your own code places its orders
through the API, under tbot's risk rules); its params are whatever JSON you want recorded with the
bot for audit (a model's name and version, its settings), stored as given. tbot decides nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ConfigDict

from application.strategies.base import Strategy, StrategyParams
from domain.market import Candle
from domain.strategy import BotView, Intent
from domain.values import Symbol


class FreeForm(StrategyParams):
    """Any JSON object: kept as given (the storage rules for free-form values still apply)."""

    model_config = ConfigDict(extra="allow", frozen=True)


class External(Strategy[FreeForm]):
    name = "external"
    description = (
        "Decided outside tbot: your code places the orders through the API; the params are free-form "
        "JSON recorded with the bot."
    )
    Params = FreeForm
    trades = False

    def plain(self, params: FreeForm) -> dict[str, Any]:
        return dict(params.model_extra or {})

    def decide(
        self, params: FreeForm, candles: Mapping[Symbol, Sequence[Candle]], view: BotView
    ) -> list[Intent]:
        return []
