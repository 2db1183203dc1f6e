"""What the execution manager records of an exchange's answer, and how it tells the failures apart.

An answer (accepted, the order's new trades, how it ended) is one command, ``RecordExchangeAnswer``,
so one transaction: an order can never be recorded ended before its trades. A failure to record is
either final (the order refuses the report: an overfill, an illegal transition, a malformed trade;
asking again gives the same refusal) or passing (anything else: other writers kept changing the
same aggregates, the database is away); a passing failure is tried again, a final one is not."""

from __future__ import annotations

from uuid import UUID

from application import commands as c
from application.errors import ConcurrencyConflict, DomainError
from application.gateway import ExchangeOrder, ExchangeStatus, ExchangeTrade

OUTCOMES = {
    ExchangeStatus.OPEN: "open",
    ExchangeStatus.FILLED: "filled",
    ExchangeStatus.CANCELLED: "cancelled",
    ExchangeStatus.EXPIRED: "expired",
}


def is_final(error: Exception) -> bool:
    """Whether recording failed for good: the order refuses the report, whenever it is asked."""
    return isinstance(error, DomainError) and not isinstance(error, ConcurrencyConflict)


def reported(trade: ExchangeTrade) -> c.ReportedTrade:
    return c.ReportedTrade(
        trade_id=trade.trade_id,
        quantity=trade.quantity,
        price=trade.price,
        fee=trade.fee,
        fee_currency=trade.fee_currency,
        fee_quote=trade.fee_quote,
    )


def answer_command(
    order_id: UUID, answer: ExchangeOrder, trades: list[ExchangeTrade], cause: dict[str, str]
) -> c.RecordExchangeAnswer:
    """The answer (anything but a rejection) as one command; ``cause`` is its actor and ids."""
    return c.RecordExchangeAnswer(
        order_id=order_id,
        exchange_order_id=answer.exchange_order_id,
        outcome=OUTCOMES[answer.status],
        filled=answer.filled,
        trades=tuple(reported(trade) for trade in trades),
        reason=answer.reason or "cancelled at the exchange",
        **cause,
    )


def one_by_one(answer: c.RecordExchangeAnswer, accept: bool) -> list[c.OrderCommand]:
    """The same answer as separate reports (``accept``: starting with the acceptance), for one the
    order refused as a whole: each part it takes is recorded, each it refuses is logged, and the
    order ends as the exchange says."""
    cause = {
        "actor": answer.actor,
        "correlation_id": answer.correlation_id,
        "causation_id": answer.causation_id,
    }
    order_id = answer.order_id
    parts: list[c.OrderCommand] = []
    if accept:
        parts.append(
            c.RecordOrderAccepted(order_id=order_id, exchange_order_id=answer.exchange_order_id, **cause)
        )
    parts += [
        c.RecordFill(
            order_id=order_id,
            trade_id=trade.trade_id,
            quantity=trade.quantity,
            price=trade.price,
            fee=trade.fee,
            fee_currency=trade.fee_currency,
            fee_quote=trade.fee_quote,
            **cause,
        )
        for trade in answer.trades
    ]
    if answer.outcome == "cancelled":
        parts.append(c.RecordOrderCancelled(order_id=order_id, reason=answer.reason, **cause))
    elif answer.outcome == "expired":
        parts.append(c.RecordOrderExpired(order_id=order_id, **cause))
    return parts
