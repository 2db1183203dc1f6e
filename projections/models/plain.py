"""Domain values as plain JSON (Decimal as exact strings), for JSON columns, the feed and replay."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from domain.values import Symbol

_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
"""What a number JSON cannot hold shows as: text. New events never hold one (``domain.params``);
events recorded before that rule may, and must still project."""


def plain(value: Any) -> Any:
    """The value as JSON holds it: finite floats as they are, NaN and infinities as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _NON_FINITE[str(value)]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Symbol):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    raise TypeError(f"no plain form for {type(value).__name__}")


def event_payload(event: Any) -> dict[str, Any]:
    """The event's own fields, without the envelope (id, version, time) and the metadata."""
    skip = {"originator_id", "originator_version", "timestamp", "meta", "originator_topic"}
    return {name: plain(value) for name, value in vars(event).items() if name not in skip}
