"""The order state machine: one transition table and one checker (docs/architecture.md)."""

from __future__ import annotations

from enum import Enum

from domain.errors import IllegalTransition


class OrderStatus(Enum):
    PENDING_NEW = "pending_new"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PART_FILLED = "part_filled"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_open(self) -> bool:
        return not self.is_terminal


class Trigger(Enum):
    SUBMIT = "submit"
    ACCEPT = "accept"
    FILL_PART = "fill_part"
    FILL_REST = "fill_rest"
    REQUEST_CANCEL = "request_cancel"
    CANCELLED = "cancelled"
    CANCEL_REJECTED = "cancel_rejected"
    REJECT = "reject"
    EXPIRE = "expire"


S, T = OrderStatus, Trigger
TERMINAL = frozenset({S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED})

# (from, trigger) -> to. Anything not listed is illegal.
TRANSITIONS: dict[tuple[OrderStatus, Trigger], OrderStatus] = {
    (S.PENDING_NEW, T.SUBMIT): S.SUBMITTED,
    (S.PENDING_NEW, T.REQUEST_CANCEL): S.CANCELLED,
    (S.PENDING_NEW, T.CANCELLED): S.CANCELLED,
    (S.PENDING_NEW, T.REJECT): S.REJECTED,
    (S.SUBMITTED, T.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, T.FILL_PART): S.PART_FILLED,
    (S.SUBMITTED, T.FILL_REST): S.FILLED,
    (S.SUBMITTED, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.SUBMITTED, T.CANCELLED): S.CANCELLED,
    (S.SUBMITTED, T.REJECT): S.REJECTED,
    (S.SUBMITTED, T.EXPIRE): S.EXPIRED,
    (S.ACCEPTED, T.FILL_PART): S.PART_FILLED,
    (S.ACCEPTED, T.FILL_REST): S.FILLED,
    (S.ACCEPTED, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.ACCEPTED, T.CANCELLED): S.CANCELLED,
    (S.ACCEPTED, T.EXPIRE): S.EXPIRED,
    (S.PART_FILLED, T.FILL_PART): S.PART_FILLED,
    (S.PART_FILLED, T.FILL_REST): S.FILLED,
    (S.PART_FILLED, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.PART_FILLED, T.CANCELLED): S.CANCELLED,
    (S.PART_FILLED, T.EXPIRE): S.EXPIRED,
    # A part fill while a cancel is pending keeps the cancel pending: the request still stands,
    # and whoever carries it out must still see it.
    (S.PENDING_CANCEL, T.FILL_PART): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, T.FILL_REST): S.FILLED,
    (S.PENDING_CANCEL, T.CANCELLED): S.CANCELLED,
    (S.PENDING_CANCEL, T.EXPIRE): S.EXPIRED,
    # A rejected cancel returns the order to the open state it had before; the order
    # aggregate supplies that state, so the table marks the move with PENDING_CANCEL.
    (S.PENDING_CANCEL, T.CANCEL_REJECTED): S.PENDING_CANCEL,
    # A fill that lands after the cancel or expiry acknowledgement is a real race at
    # exchanges: it is recorded (the position changes) and the order stays where it is.
    (S.CANCELLED, T.FILL_PART): S.CANCELLED,
    (S.CANCELLED, T.FILL_REST): S.CANCELLED,
    (S.EXPIRED, T.FILL_PART): S.EXPIRED,
    (S.EXPIRED, T.FILL_REST): S.EXPIRED,
}
del S, T


def next_status(current: OrderStatus, trigger: Trigger) -> OrderStatus:
    """The state the table allows after ``trigger``, or IllegalTransition."""
    try:
        return TRANSITIONS[(current, trigger)]
    except KeyError:
        raise IllegalTransition("order", current.value, trigger.value) from None
