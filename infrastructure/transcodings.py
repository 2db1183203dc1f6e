"""How domain values are written into stored events: Decimal as strings (the library's own),
enums by value, value dataclasses as objects of their fields, symbols as text.

The stored format is the library's ``JSONTranscoder`` format; ``DomainTranscoder`` only reads it
back faster (replays and rebuilds decode every event in the store)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, SafeUUID

import orjson
from eventsourcing.persistence import JSONTranscoder, Transcoding, TranscodingNotRegisteredError

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
        self._defaults = {
            f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING
        }

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._fields}

    def decode(self, data: dict[str, Any]) -> Any:
        """The recorded value as it was: a stored fact is not validated again (rules change, facts
        do not), so the dataclass is filled in without running ``__init__``."""
        missing = [name for name in self._fields if name not in data and name not in self._defaults]
        if missing:
            raise ValueError(f"{self._cls.__name__} lacks {', '.join(missing)}")
        value = object.__new__(self._cls)
        value.__dict__.update(self._defaults)
        value.__dict__.update(data)
        return value


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


def uuid_from_hex(data: str) -> UUID:
    """``UUID(data)`` for the 32 hex digits the library stores, without re-parsing other spellings."""
    if len(data) != 32:
        return UUID(data)
    value = object.__new__(UUID)
    object.__setattr__(value, "int", int(data, 16))
    object.__setattr__(value, "is_safe", SafeUUID.unknown)
    return value


class _NotExact(Exception):
    """orjson's reading may differ from the library's (it reads integers beyond 64 bits as
    floats): the state holds a float, or orjson refused what the library accepts."""


class DomainTranscoder(JSONTranscoder):
    """The library's JSON format, read back faster: orjson parses the bytes, then one walk turns
    each ``{"_type_": name, "_data_": data}`` object into its value, innermost first (as the
    library's object hook does), through one plain function per name. A state holding any float
    (our events hold none: money is Decimal) is read again by the library's own decoder, so the
    result is always exactly the library's."""

    _FAST: dict[str, Callable[[Any], Any]] = {
        "uuid_hex": uuid_from_hex,
        "decimal_str": Decimal,
        "datetime_iso": datetime.fromisoformat,
    }

    def __init__(self) -> None:
        super().__init__()
        self._decoders: dict[str, Callable[[Any], Any]] = {}

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        self._decoders[transcoding.name] = self._FAST.get(transcoding.name, transcoding.decode)

    def decode(self, data: bytes) -> Any:
        try:
            parsed = orjson.loads(data)
            if type(parsed) is not dict:
                raise _NotExact
            return self._revive(parsed)
        except (_NotExact, orjson.JSONDecodeError):
            return super().decode(data)

    def _revive(self, value: dict[str, Any]) -> Any:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            data = value["_data_"]
            if type(data) is dict:
                data = self._revive(data)
            elif type(data) is list:
                data = self._revive_list(data)
            elif type(data) is float:
                raise _NotExact
            try:
                decode = self._decoders[value["_type_"]]
            except KeyError:
                raise TranscodingNotRegisteredError(
                    f"Data serialized with name {value['_type_']!r} is not deserializable"
                ) from None
            return decode(data)
        for key, item in value.items():
            if type(item) is dict:
                value[key] = self._revive(item)
            elif type(item) is list:
                value[key] = self._revive_list(item)
            elif type(item) is float:
                raise _NotExact
        return value

    def _revive_list(self, values: list[Any]) -> list[Any]:
        return [
            self._revive(item)
            if type(item) is dict
            else self._revive_list(item)
            if type(item) is list
            else item
            for item in values
        ]


ENUMS: tuple[type[Enum], ...] = (Side, OrderType, TimeInForce, OrderStatus, BotStatus, ReasonCode)
VALUE_DATACLASSES: tuple[type[Any], ...] = (EventMeta, OrderRequest, RiskLimits, OpenOrder, Denial)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    for enum_cls in ENUMS:
        transcoder.register(EnumAsValue(enum_cls))
    for cls in VALUE_DATACLASSES:
        transcoder.register(DataclassAsObject(cls))
    transcoder.register(SymbolAsText())
    transcoder.register(DateAsISO())
