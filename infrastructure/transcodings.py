"""How domain values are written into stored events: Decimal as strings (the library's own),
enums by value, value dataclasses as objects of their fields, symbols as text."""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.bot import BotStatus, Denial, OpenOrder
from domain.order_states import OrderStatus
from domain.orders import OrderRequest
from domain.risk import ReasonCode, RiskLimits
from domain.values import EventMeta, OrderType, Side, Symbol, TimeInForce


class EnumAsValue(Transcoding):
    def __init__(self, enum_cls: type[Enum]) -> None:
        self.type = enum_cls
        self.name = f"enum:{enum_cls.__name__}"
        self._cls = enum_cls

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        return self._cls(data)


class DataclassAsObject(Transcoding):
    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = f"value:{cls.__name__}"
        self._cls = cls
        self._fields = [f.name for f in dataclasses.fields(cls)]

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._fields}

    def decode(self, data: dict[str, Any]) -> Any:
        return self._cls(**data)


class SymbolAsText(Transcoding):
    type = Symbol
    name = "symbol"

    def encode(self, obj: Symbol) -> str:
        return str(obj)

    def decode(self, data: str) -> Symbol:
        return Symbol.parse(data)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


ENUMS: tuple[type[Enum], ...] = (Side, OrderType, TimeInForce, OrderStatus, BotStatus, ReasonCode)
VALUE_DATACLASSES: tuple[type[Any], ...] = (EventMeta, OrderRequest, RiskLimits, OpenOrder, Denial)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    for enum_cls in ENUMS:
        transcoder.register(EnumAsValue(enum_cls))
    for cls in VALUE_DATACLASSES:
        transcoder.register(DataclassAsObject(cls))
    transcoder.register(SymbolAsText())
    transcoder.register(DateAsISO())
