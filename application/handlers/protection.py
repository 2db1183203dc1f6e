"""The handler of what the protection worker reports: a position's stop loss or take profit fired,
and its closing order was placed or denied."""

from __future__ import annotations

from application.commands import RecordProtectionFired
from application.handlers.base import Handler
from application.results import Ack
from domain.ids import OrderId
from domain.position import Position
from domain.values import Stamp


class RecordProtectionFiredHandler(Handler[RecordProtectionFired, Ack]):
    """Records the attempt on the position: each attempt once, and nothing after the episode's
    closing order was placed."""

    def execute(self, command: RecordProtectionFired, stamp: Stamp) -> Ack:
        position = self.store.load(Position, command.position_id, "position")
        if position.episode != command.episode:
            return Ack(position.id, self.store.last_position(), changed=False)  # a later episode now
        changed = position.fire(
            command.attempt,
            command.kind,
            command.level,
            command.mark,
            command.client_order_id,
            OrderId(command.order_id) if command.order_id is not None else None,
            list(command.denied),
            stamp,
            target=command.target,
            quantity=command.quantity,
        )
        at = self.store.record(position) if changed else self.store.last_position()
        return Ack(position.id, at, changed=changed)
