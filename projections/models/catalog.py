"""Every projection by name."""

from __future__ import annotations

from collections.abc import Iterable

from projections.models.base import Projection
from projections.models.bots import BotsProjection
from projections.models.errors import UnknownProjection
from projections.models.fills import FillsProjection
from projections.models.live import NAME as LIVE
from projections.models.orders import OrdersProjection
from projections.models.pnl import PnlProjection
from projections.models.positions import PositionsProjection
from projections.models.risk_decisions import RiskDecisionsProjection
from projections.models.signals import SignalsProjection
from projections.models.strategy_decisions import StrategyDecisionsProjection


def sql_projections() -> list[Projection]:
    return [
        BotsProjection(),
        OrdersProjection(),
        FillsProjection(),
        PositionsProjection(),
        PnlProjection(),
        RiskDecisionsProjection(),
        StrategyDecisionsProjection(),
        SignalsProjection(),
    ]


SQL_NAMES = [p.name for p in sql_projections()]
ALL_NAMES = [*SQL_NAMES, LIVE]


def resolve(names: Iterable[str]) -> list[str]:
    """The named projections in catalogue order, or all of them for no names."""
    chosen = list(names)
    for name in chosen:
        if name not in ALL_NAMES:
            raise UnknownProjection(name, ALL_NAMES)
    return [name for name in ALL_NAMES if name in chosen] if chosen else list(ALL_NAMES)
