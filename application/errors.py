"""Typed errors a command can end with. None of them is a server fault."""

from __future__ import annotations

from uuid import UUID

from domain.errors import DomainError, IllegalTransition, InvalidInput, Overfill
from domain.risk import ReasonCode

__all__ = [
    "BotBusy",
    "ConcurrencyConflict",
    "DomainError",
    "IdempotencyMismatch",
    "IllegalTransition",
    "InvalidInput",
    "NotFound",
    "OrderDenied",
    "Overfill",
]


class NotFound(DomainError):
    def __init__(self, kind: str, entity_id: object) -> None:
        super().__init__(f"{kind} {entity_id} does not exist")
        self.kind = kind
        self.entity_id = entity_id


class IdempotencyMismatch(DomainError):
    """A repeated idempotency key (or client order id) came with a different request."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} was already used for a different request")
        self.what = what


class ConcurrencyConflict(DomainError):
    """Other writers kept changing the same aggregates; the command was retried and gave up."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"gave up after {attempts} attempts: the aggregates kept changing")
        self.attempts = attempts


class BotBusy(ConcurrencyConflict):
    """Another process held the bot's turn for longer than the wait allows."""

    def __init__(self, bot_id: UUID) -> None:
        DomainError.__init__(self, f"bot {bot_id} is busy: another process held its turn too long")
        self.attempts = 1


class OrderDenied(DomainError):
    """The risk policy refused the order; the denial was recorded on the bot."""

    def __init__(
        self, bot_id: UUID, client_order_id: str, denial_id: UUID, reason_codes: list[ReasonCode]
    ) -> None:
        codes = ", ".join(code.value for code in reason_codes)
        super().__init__(f"order {client_order_id} denied: {codes}")
        self.bot_id = bot_id
        self.client_order_id = client_order_id
        self.denial_id = denial_id
        self.reason_codes = list(reason_codes)
