"""Exchange answers as commands: who the manager records them as (``Cause``), the command for
each report of an order (``OrderReports``), and how a failure to record one is told apart.

An answer (accepted, the order's new trades, how it ended) is one command, ``RecordExchangeAnswer``,
so one transaction: an order can never be recorded ended before its trades. A failure to record is
either final (the order refuses the report: an overfill, an illegal transition, a malformed trade;
asking again gives the same refusal) or passing (anything else: other writers kept changing the
same aggregates, the database is away); a passing failure is tried again, a final one is not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict
from uuid import UUID

from application import commands as c
from application.errors import ConcurrencyConflict, DomainError
from application.execution.state import WorkingOrder
from application.gateway import ExchangeOrder, ExchangeStatus, ExchangeTrade
from domain.aggregate import TradingAggregate

EXECUTION_ACTOR = "system:execution"
RECONCILIATION_ACTOR = "system:reconciliation"

OUTCOMES = {
    ExchangeStatus.OPEN: "open",
    ExchangeStatus.FILLED: "filled",
    ExchangeStatus.CANCELLED: "cancelled",
    ExchangeStatus.EXPIRED: "expired",
}


class _Meta(TypedDict):
    actor: str
    correlation_id: str
    causation_id: str


@dataclass(frozen=True)
class Cause:
    """Who the manager records as the actor, and the request its records belong to: the metadata
    of every command it sends, as one value."""

    actor: str
    correlation_id: str
    causation_id: str

    @classmethod
    def reconciliation(cls, run: str) -> Cause:
        """What start-up reconciliation records, for every order, in the run ``run``."""
        return cls(RECONCILIATION_ACTOR, run, run)

    @classmethod
    def event(cls, event: TradingAggregate.Event) -> Cause:
        """What acting on an order's event records: part of the event's request, caused by it."""
        return cls(
            EXECUTION_ACTOR, event.meta.correlation_id, f"{event.originator_id}:{event.originator_version}"
        )

    @classmethod
    def following(cls, order: WorkingOrder) -> Cause:
        """What following an order (polls, streams, lookups) records: part of its request."""
        return cls(EXECUTION_ACTOR, order.correlation_id, f"follow:{order.order_id}")

    @property
    def reconciling(self) -> bool:
        return self.actor == RECONCILIATION_ACTOR


def is_final(error: Exception) -> bool:
    """Whether recording failed for good: the order refuses the report, whenever it is asked."""
    return isinstance(error, DomainError) and not isinstance(error, ConcurrencyConflict)


@dataclass(frozen=True)
class OrderReports:
    """The commands that record what happened to one order at its exchange, all with one cause."""

    order_id: UUID
    cause: Cause

    @classmethod
    def like(cls, command: c.OrderCommand) -> OrderReports:
        """Reports of the same order with the same cause as ``command``."""
        return cls(command.order_id, Cause(command.actor, command.correlation_id, command.causation_id))

    def submitted(self) -> c.RecordOrderSubmitted:
        return c.RecordOrderSubmitted(order_id=self.order_id, **self._meta)

    def accepted(self, exchange_order_id: str | None) -> c.RecordOrderAccepted:
        return c.RecordOrderAccepted(
            order_id=self.order_id, exchange_order_id=exchange_order_id, **self._meta
        )

    def rejected(self, reason: str) -> c.RecordOrderRejected:
        return c.RecordOrderRejected(order_id=self.order_id, reason=reason, **self._meta)

    def fill(self, trade: c.ReportedTrade) -> c.RecordFill:
        return c.RecordFill(
            order_id=self.order_id,
            trade_id=trade.trade_id,
            quantity=trade.quantity,
            price=trade.price,
            fee=trade.fee,
            fee_currency=trade.fee_currency,
            fee_quote=trade.fee_quote,
            **self._meta,
        )

    def cancelled(self, reason: str) -> c.RecordOrderCancelled:
        return c.RecordOrderCancelled(order_id=self.order_id, reason=reason, **self._meta)

    def cancel_rejected(self, reason: str) -> c.RecordCancelRejected:
        return c.RecordCancelRejected(order_id=self.order_id, reason=reason, **self._meta)

    def expired(self) -> c.RecordOrderExpired:
        return c.RecordOrderExpired(order_id=self.order_id, **self._meta)

    def answer(self, answer: ExchangeOrder, trades: list[ExchangeTrade]) -> c.RecordExchangeAnswer:
        """The answer (anything but a rejection) with the order's new ``trades`` as one command."""
        return c.RecordExchangeAnswer(
            order_id=self.order_id,
            exchange_order_id=answer.exchange_order_id,
            outcome=OUTCOMES[answer.status],
            filled=answer.filled,
            trades=tuple(_reported(trade) for trade in trades),
            reason=answer.reason or "cancelled at the exchange",
            **self._meta,
        )

    @property
    def _meta(self) -> _Meta:
        cause = self.cause
        return {
            "actor": cause.actor,
            "correlation_id": cause.correlation_id,
            "causation_id": cause.causation_id,
        }


def one_by_one(answer: c.RecordExchangeAnswer, accept: bool) -> list[c.OrderCommand]:
    """The same answer as separate reports (``accept``: starting with the acceptance), for one the
    order refused as a whole: each part it takes is recorded, each it refuses is logged, and the
    order ends as the exchange says."""
    reports = OrderReports.like(answer)
    parts: list[c.OrderCommand] = [reports.accepted(answer.exchange_order_id)] if accept else []
    parts += [reports.fill(trade) for trade in answer.trades]
    if answer.outcome == "cancelled":
        parts.append(reports.cancelled(answer.reason))
    elif answer.outcome == "expired":
        parts.append(reports.expired())
    return parts


def _reported(trade: ExchangeTrade) -> c.ReportedTrade:
    return c.ReportedTrade(
        trade_id=trade.trade_id,
        quantity=trade.quantity,
        price=trade.price,
        fee=trade.fee,
        fee_currency=trade.fee_currency,
        fee_quote=trade.fee_quote,
    )
