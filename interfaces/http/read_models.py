"""Response models of the query API, derived from the read models' own column definitions, so
the OpenAPI document always matches what the views hold. Decimals are written as
interfaces/decimals.py says: the columns the read side computes are rounded, the others are shown
as recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, StrictInt, create_model
from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Table, Uuid

from infrastructure.columns import Money, UtcTime
from interfaces.decimals import Computed, Recorded
from projections.queries import VIEWS

# The decimal columns whose values the read side computes (averages, PnL, fees valued in the quote
# currency) rather than records as given.
COMPUTED = frozenset(
    {
        "average_price",
        "average_fill_price",
        "realized_pnl",
        "unrealized_pnl",
        "fees_quote",
        "fee_quote",
        "fees_paid",
    }
)
_TYPES: tuple[tuple[type, Any], ...] = (
    (Money, Recorded),
    (UtcTime, datetime),
    (Uuid, UUID),
    (Boolean, bool),
    (BigInteger, int),
    (Integer, int),
    (String, str),
    (JSON, Any),
)


def _python_type(name: str, column_type: object) -> Any:
    if isinstance(column_type, Money) and name in COMPUTED:
        return Computed
    for sql_type, python in _TYPES:
        if isinstance(column_type, sql_type):
            return python
    raise TypeError(f"no response type for {column_type!r}")


def model_of(name: str, table: Table, **overrides: Any) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for column in table.columns:
        python = _python_type(column.name, column.type)
        fields[column.name] = (python | None, None) if column.nullable else (python, ...)
    return create_model(name, __config__=ConfigDict(extra="ignore"), **{**fields, **overrides})


# A bot's risk limits as recorded: decimals (written like every other decimal) and counts.
Limits = dict[str, StrictInt | Recorded | None]


Bot = model_of("Bot", VIEWS["bots"], limits=(Limits, ...))
Order = model_of("Order", VIEWS["orders"])
Fill = model_of("Fill", VIEWS["fills"])
Position = create_model(
    "Position",
    __base__=model_of("PositionRow", VIEWS["positions"]),
    mark_price=(Recorded | None, None),
    marked_at=(datetime | None, None),
    unrealized_pnl=(Computed | None, None),
)
RiskDecision = model_of("RiskDecision", VIEWS["risk_decisions"])
StrategyDecision = model_of("StrategyDecision", VIEWS["strategy_decisions"])
SignalRow = model_of(
    "SignalRow",
    VIEWS["signals"],
    entries=(list[Recorded] | None, None),
    take_profits=(list[dict[str, Recorded | None]] | None, None),
    reasons=(list[str], ...),
    orders=(list[UUID], ...),
    cancelled=(list[UUID], ...),
    denied=(list[dict[str, Any]], ...),
)


class OrderWithFills(BaseModel):
    order: Order  # type: ignore[valid-type]
    fills: list[Fill]  # type: ignore[valid-type]


def page_of(item: type[BaseModel]) -> type[BaseModel]:
    return create_model(
        f"{item.__name__}Page",
        items=(list[item], ...),  # type: ignore[valid-type]
        next_cursor=(str | None, None),
    )


BotPage = page_of(Bot)
OrderPage = page_of(Order)
FillPage = page_of(Fill)
RiskDecisionPage = page_of(RiskDecision)
StrategyDecisionPage = page_of(StrategyDecision)
SignalPage = page_of(SignalRow)
