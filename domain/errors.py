"""Typed errors the domain raises before any event is recorded."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a user can cause; never a server fault."""


class InvalidInput(DomainError):
    """A field breaks a rule. Carries the field and the rule so callers can say both."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class IllegalTransition(DomainError):
    """The aggregate's state does not allow this change."""

    def __init__(self, entity: str, state: str, action: str) -> None:
        super().__init__(f"{entity} is {state}: cannot {action}")
        self.entity = entity
        self.state = state
        self.action = action


class Overfill(DomainError):
    """A fill would take an order's filled quantity above its quantity."""
