"""An aggregate no projection knows: a stand-in for an event type added without its projections."""

from __future__ import annotations

from uuid import uuid4

from domain.aggregate import TradingAggregate
from domain.ids import UserId
from domain.values import EventMeta


class Alien(TradingAggregate):
    class Landed(TradingAggregate.Created):
        pass


def alien() -> Alien:
    return Alien._create(Alien.Landed, id=uuid4(), meta=EventMeta(UserId("alice"), "c", "c"))
