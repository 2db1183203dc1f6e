"""Response models of the query API, derived from the read models' own column definitions, so
the OpenAPI document always matches what the views hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, create_model
from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Table, Uuid

from infrastructure.columns import Money, UtcTime
from interfaces.http.schemas import PlainDecimal
from projections.queries import VIEWS

_TYPES: tuple[tuple[type, Any], ...] = (
    (Money, PlainDecimal),
    (UtcTime, datetime),
    (Uuid, UUID),
    (Boolean, bool),
    (BigInteger, int),
    (Integer, int),
    (String, str),
    (JSON, Any),
)


def _python_type(column_type: object) -> Any:
    for sql_type, python in _TYPES:
        if isinstance(column_type, sql_type):
            return python
    raise TypeError(f"no response type for {column_type!r}")


def model_of(name: str, table: Table) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for column in table.columns:
        python = _python_type(column.type)
        fields[column.name] = (python | None, None) if column.nullable else (python, ...)
    return create_model(name, __config__=ConfigDict(extra="ignore"), **fields)


Bot = model_of("Bot", VIEWS["bots"])
Order = model_of("Order", VIEWS["orders"])
Fill = model_of("Fill", VIEWS["fills"])
Position = create_model(
    "Position",
    __base__=model_of("PositionRow", VIEWS["positions"]),
    mark_price=(PlainDecimal | None, None),
    marked_at=(datetime | None, None),
    unrealized_pnl=(PlainDecimal | None, None),
)
RiskDecision = model_of("RiskDecision", VIEWS["risk_decisions"])


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
