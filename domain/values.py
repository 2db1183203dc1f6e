"""Value objects: symbols, sides, order types, exchange market rules, event metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TypeVar

from domain.errors import InvalidInput
from domain.ids import UserId

E = TypeVar("E", bound=Enum)

_SYMBOL = re.compile(r"^([A-Z0-9]{2,15})/([A-Z0-9]{2,15})$")


@dataclass(frozen=True, order=True)
class Symbol:
    """A spot market, written BASE/QUOTE in upper case, e.g. ``BTC/USDT``."""

    base: str
    quote: str

    @classmethod
    def parse(cls, text: str, field: str = "symbol") -> Symbol:
        match = _SYMBOL.match(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidInput(field, "must look like BASE/QUOTE in upper case, e.g. BTC/USDT")
        return cls(match.group(1), match.group(2))

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"


class Side(Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(Enum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"

    @property
    def needs_price(self) -> bool:
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)

    @property
    def needs_stop_price(self) -> bool:
        return self in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)


class TimeInForce(Enum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


@dataclass(frozen=True)
class MarketSpec:
    """An exchange's rules for one market: steps, minimums."""

    amount_step: Decimal
    price_tick: Decimal
    min_amount: Decimal
    min_notional: Decimal

    def round_down(self, quantity: Decimal) -> Decimal:
        """``quantity`` down to a multiple of the amount step (any amount when there is no step),
        written without trailing zeros."""
        if self.amount_step <= 0:
            return quantity
        stepped = (quantity // self.amount_step) * self.amount_step
        return stepped.quantize(Decimal(1)) if stepped == stepped.to_integral() else stepped.normalize()


@dataclass(frozen=True)
class EventMeta:
    """Who caused an event and in answer to what: stored with every event."""

    actor: UserId
    correlation_id: str
    causation_id: str


@dataclass(frozen=True)
class Stamp:
    """When (from the injected clock) and why an aggregate changes."""

    at: datetime
    meta: EventMeta

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("event times must be timezone-aware")


DECIMAL_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,2})?$"
"""How money and quantities are written: ASCII digits with an optional sign, at most one decimal
point and an optional exponent of at most two digits (``-12.5``, ``0.001``, ``1e-8``). Nothing
else: Python's own ``Decimal()`` also takes other scripts' digits (Arabic-Indic, fullwidth),
underscores (``"1_000"``), surrounding white space and exponents of any size."""
MAX_DECIMAL_TEXT = 64
"""The longest decimal text taken (40 digits with a point and an exponent fit easily)."""
_DECIMAL = re.compile(DECIMAL_PATTERN)
_INTEGER = re.compile(r"^[+-]?[0-9]{1,19}$")


def decimal_field(value: object, field: str) -> Decimal:
    """A finite Decimal from a Decimal, an int or text written as ``DECIMAL_PATTERN`` says; floats
    are refused (money is exact), and so is any other way of writing a number."""
    if isinstance(value, float):
        raise InvalidInput(field, "must be a decimal string or integer, not a float")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidInput(field, "must be a decimal string or integer")
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value)
        if len(text) > MAX_DECIMAL_TEXT or not _DECIMAL.fullmatch(text):
            raise InvalidInput(
                field,
                "must be a decimal number: ASCII digits, an optional sign, at most one decimal point "
                f"and an exponent of at most two digits, {MAX_DECIMAL_TEXT} characters at most",
            )
        number = Decimal(text)
    if not number.is_finite():
        raise InvalidInput(field, "must be finite")
    return number


def integer_field(value: object, field: str) -> int:
    """An int from an int or from text of ASCII digits with an optional sign (``int()`` also takes
    other scripts' digits, underscores and white space)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    raise InvalidInput(field, "must be an integer: ASCII digits with an optional sign")


def positive_decimal(value: object, field: str) -> Decimal:
    number = decimal_field(value, field)
    if number <= 0:
        raise InvalidInput(field, "must be greater than 0")
    return number


def non_negative_decimal(value: object, field: str) -> Decimal:
    number = decimal_field(value, field)
    if number < 0:
        raise InvalidInput(field, "must be 0 or greater")
    return number


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or value % step == 0


def enum_field(enum_cls: type[E], value: object, field: str) -> E:
    """An enum member from itself or its value, or InvalidInput naming the allowed values."""
    if isinstance(value, enum_cls):
        return value
    for member in enum_cls:
        if member.value == value:
            return member
    allowed = ", ".join(str(m.value) for m in enum_cls)
    raise InvalidInput(field, f"must be one of {allowed}")
