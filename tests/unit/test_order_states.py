"""The order state machine table of docs/architecture.md, row by row."""

from __future__ import annotations

import itertools

import pytest

from domain.errors import IllegalTransition
from domain.order_states import TERMINAL, TRANSITIONS, OrderStatus, Trigger, next_status

S, T = OrderStatus, Trigger
DOCUMENTED_TABLE = {
    S.PENDING_NEW: {
        T.SUBMIT: S.SUBMITTED,
        T.REQUEST_CANCEL: S.CANCELLED,
        T.CANCELLED: S.CANCELLED,
        T.REJECT: S.REJECTED,
    },
    S.SUBMITTED: {
        T.ACCEPT: S.ACCEPTED,
        T.FILL_PART: S.PART_FILLED,
        T.FILL_REST: S.FILLED,
        T.REQUEST_CANCEL: S.PENDING_CANCEL,
        T.CANCELLED: S.CANCELLED,
        T.REJECT: S.REJECTED,
        T.EXPIRE: S.EXPIRED,
    },
    S.ACCEPTED: {
        T.FILL_PART: S.PART_FILLED,
        T.FILL_REST: S.FILLED,
        T.REQUEST_CANCEL: S.PENDING_CANCEL,
        T.CANCELLED: S.CANCELLED,
        T.EXPIRE: S.EXPIRED,
    },
    S.PART_FILLED: {
        T.FILL_PART: S.PART_FILLED,
        T.FILL_REST: S.FILLED,
        T.REQUEST_CANCEL: S.PENDING_CANCEL,
        T.CANCELLED: S.CANCELLED,
        T.EXPIRE: S.EXPIRED,
    },
    S.PENDING_CANCEL: {
        T.FILL_PART: S.PENDING_CANCEL,
        T.FILL_REST: S.FILLED,
        T.CANCELLED: S.CANCELLED,
        T.EXPIRE: S.EXPIRED,
        T.CANCEL_REJECTED: S.PENDING_CANCEL,
    },
    # late fills after a cancel or expiry acknowledgement are recorded; the status stays
    S.CANCELLED: {T.FILL_PART: S.CANCELLED, T.FILL_REST: S.CANCELLED},
    S.EXPIRED: {T.FILL_PART: S.EXPIRED, T.FILL_REST: S.EXPIRED},
}


@pytest.mark.parametrize(("status", "trigger"), list(itertools.product(OrderStatus, Trigger)))
def test_every_cell_of_the_table(status: OrderStatus, trigger: Trigger) -> None:
    expected = DOCUMENTED_TABLE.get(status, {}).get(trigger)
    if expected is None:
        with pytest.raises(IllegalTransition):
            next_status(status, trigger)
    else:
        assert next_status(status, trigger) is expected


def test_terminal_states() -> None:
    assert (
        {s for s in OrderStatus if s.is_terminal}
        == TERMINAL
        == {S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}
    )
    assert sum(len(row) for row in DOCUMENTED_TABLE.values()) == len(TRANSITIONS)
