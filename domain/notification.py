"""The Delivery aggregate: what became of one notification on one channel, recorded once.

Its id is derived from what is notified (``source``: ``event:<position>`` for an event,
``daily_pnl:<day>:<bot id>`` for a daily summary) and the channel, so it is the notifier's
idempotency key: a delivery recorded is never sent again, by this process or another
after a restart. One event each: ``Sent`` (delivered after ``attempts`` attempts) or
``DeadLettered`` (given up: ``error`` is the channel's short safe reason, never a secret or a URL).
A delivery belongs to a user, not a bot: no read model projects it and the live feed leaves it out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from uuid import UUID, uuid5

from domain.aggregate import TradingAggregate
from domain.values import Stamp

_NAMESPACE = UUID("6f1d3c2a-5b7e-4e0a-9c1d-2b8f0e6a4d10")


def event_source(position: int) -> str:
    """The ``source`` of the notification of the event at ``position``."""
    return f"event:{position}"


def delivery_id_for(source: str, channel_id: UUID) -> UUID:
    """One delivery per (source, channel): derived, never drawn."""
    return uuid5(_NAMESPACE, f"delivery:{source}:{channel_id}")


class Delivery(TradingAggregate):
    class Sent(TradingAggregate.Created):
        """Delivered: ``attempts`` it took."""

        user_id: str
        channel_id: UUID
        channel: str
        kind: str
        source: str
        position: int | None
        attempts: int

        def apply(self, aggregate: Any) -> None:
            delivery = cast(Delivery, aggregate)
            delivery.user_id, delivery.channel_id, delivery.kind = self.user_id, self.channel_id, self.kind
            delivery.source, delivery.position, delivery.attempts = self.source, self.position, self.attempts
            delivery.status, delivery.error = "sent", None

    class DeadLettered(TradingAggregate.Created):
        """Given up after ``attempts`` (a permanent failure, or out of attempts): ``error`` says why."""

        user_id: str
        channel_id: UUID
        channel: str
        kind: str
        source: str
        position: int | None
        attempts: int
        error: str

        def apply(self, aggregate: Any) -> None:
            delivery = cast(Delivery, aggregate)
            delivery.user_id, delivery.channel_id, delivery.kind = self.user_id, self.channel_id, self.kind
            delivery.source, delivery.position, delivery.attempts = self.source, self.position, self.attempts
            delivery.status, delivery.error = "dead", self.error

    if TYPE_CHECKING:
        user_id: str
        channel_id: UUID
        kind: str
        source: str
        position: int | None
        attempts: int
        status: str  # sent or dead
        error: str | None

    @classmethod
    def record(
        cls,
        *,
        user_id: str,
        channel_id: UUID,
        channel: str,
        kind: str,
        source: str,
        position: int | None,
        attempts: int,
        error: str | None,
        stamp: Stamp,
    ) -> Delivery:
        """``Sent`` when ``error`` is None, else ``DeadLettered``."""
        fields: dict[str, Any] = dict(
            id=delivery_id_for(source, channel_id),
            timestamp=stamp.at,
            meta=stamp.meta,
            user_id=user_id,
            channel_id=channel_id,
            channel=channel,
            kind=kind,
            source=source,
            position=position,
            attempts=attempts,
        )
        if error is None:
            return cls._create(cls.Sent, **fields)
        return cls._create(cls.DeadLettered, error=error, **fields)
