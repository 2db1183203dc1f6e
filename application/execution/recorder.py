"""Recording what an exchange says of an order, through the same command handlers as everything
else: each answer in one transaction, never an order ended before its trades, and an answer that
cannot be recorded now asked for again shortly."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from application import commands as c
from application.bus import CommandBus
from application.errors import DomainError, IllegalTransition
from application.execution.orders import Follow, WorkingOrders, gateway_of
from application.execution.reports import Cause, OrderReports, is_final, one_by_one
from application.gateway import (
    ExchangeOrder,
    ExchangeStatus,
    ExchangeTrade,
    ExchangeUnavailable,
    GatewayDirectory,
    OutcomeUnknown,
)
from application.results import AnswerAck, FillAck, OrderAck
from application.store import TradingApplication
from domain.order import Order
from domain.order_states import OrderStatus

log = structlog.get_logger("tbot.execution")


@dataclass(frozen=True)
class Refused:
    """A report the order refused for good (logged; asking again would be refused again)."""

    error: DomainError


Recorded = OrderAck | FillAck | AnswerAck | Refused | None


class Recorder:
    """Records an order's reports through the command bus, and keeps what the run knows of the
    order (settled, filled, refused, still working) in line with what was recorded."""

    def __init__(
        self, bus: CommandBus, store: TradingApplication, gateways: GatewayDirectory, orders: WorkingOrders
    ) -> None:
        self.bus = bus
        self.store = store
        self.gateways = gateways
        self.orders = orders

    async def order(self, follow: Follow) -> Order | None:
        return await asyncio.to_thread(self.store.find, Order, follow.order.order_id, True)

    async def sync(self, follow: Follow, answer: ExchangeOrder, cause: Cause) -> bool:
        """Records, in one transaction, what the exchange says of the order that the order does not
        show yet: accepted, each new trade (by trade id), and how it ended. True once the order
        shows all of it; otherwise (the answer could not be recorded now, or the exchange has not
        listed all the trades yet) the order is unsettled and looked up again shortly. Start-up
        reconciliation compares every trade the exchange lists with those recorded."""
        order = await self.order(follow)
        if order is None:
            return False
        reports = OrderReports(order.id, cause)
        if answer.status is ExchangeStatus.REJECTED:
            rejected = await self.record(
                follow, reports.rejected(answer.reason or "rejected by the exchange")
            )
            follow.settled = rejected is not None
            return isinstance(rejected, OrderAck)
        if follow.refused == (answer.status, answer.filled):
            follow.settled = True
            return False  # refused for good before, and nothing has changed since
        trades: list[ExchangeTrade] = []
        if answer.filled > order.filled_quantity or (cause.reconciling and answer.filled > 0):
            try:
                trades = await gateway_of(self.gateways, follow.order.account).order_trades(answer)
            except (OutcomeUnknown, ExchangeUnavailable) as error:
                if order.status is OrderStatus.SUBMITTED:  # what is known meanwhile: accepted
                    await self.record(follow, reports.answer(answer, []))
                self.orders.unsettled(follow, f"trades of {follow.order.client_order_id}", error)
                return False
        recorded = set(order.trade_ids)
        new = [trade for trade in trades if trade.trade_id not in recorded]
        ends = answer.status in (ExchangeStatus.CANCELLED, ExchangeStatus.EXPIRED) and order.status.is_open
        behind = answer.filled > order.filled_quantity
        if not (new or ends or behind or order.status is OrderStatus.SUBMITTED):
            follow.filled, follow.settled = order.filled_quantity, True
            return True  # the order shows all of it already
        command = reports.answer(answer, new)
        ack = await self.record(follow, command)
        if ack is None:
            return False
        if isinstance(ack, Refused):
            return await self._refused(follow, answer, command, accept=order.status is OrderStatus.SUBMITTED)
        assert isinstance(ack, AnswerAck)
        follow.filled = ack.filled
        if not ack.complete:
            log.info(
                "the exchange has not listed all of an order's trades yet; asking again",
                client_order_id=follow.order.client_order_id,
                filled=str(answer.filled),
                recorded=str(ack.filled),
            )
            self.orders.unsettled(follow, "trades", None)
            return False
        follow.settled = True
        return True

    async def _refused(
        self, follow: Follow, answer: ExchangeOrder, command: c.RecordExchangeAnswer, accept: bool
    ) -> bool:
        """An answer the order refused as a whole is recorded part by part, so what it takes is
        kept; the same answer is not tried again, and one that ended the order at the exchange
        is not followed further in this run (start-up reconciliation tries it again)."""
        for part in one_by_one(command, accept):
            if await self.record(follow, part) is None:
                return False  # the rest waits for the next lookup
        follow.refused = (answer.status, answer.filled)
        follow.filled = max(follow.filled, answer.filled)
        follow.settled = True
        if answer.status.is_final:
            self.orders.drop(follow.order.order_id)
        return False

    async def record(self, follow: Follow, command: c.OrderCommand) -> Recorded:
        """Dispatches an execution report. A report the order refuses for good is logged and
        answered with Refused; one that cannot be recorded now (a conflict that outlasted the
        retries, a database error) leaves the order unsettled, so it is looked up and brought in
        line shortly, and is answered with None."""
        try:
            ack = await asyncio.to_thread(self._dispatch, command)
        except Exception as error:
            name = type(command).__name__
            if not is_final(error):
                log.warning("execution report not recorded; will try again", command=name, error=repr(error))
                self.orders.unsettled(follow, name, None)
                return None
            if isinstance(command, c.RecordOrderSubmitted) and isinstance(error, IllegalTransition):
                # a cancel got in before the order was sent: an expected race
                log.info("order ended before it was sent", command=name, error=str(error))
            elif isinstance(command, c.RecordExchangeAnswer):  # the part refused is logged then
                log.info("exchange answer refused as a whole; recording it part by part", error=str(error))
            else:
                log.error("execution report refused", command=name, error=str(error))
            assert isinstance(error, DomainError)
            return Refused(error)
        status = ack.order_status if isinstance(ack, FillAck) else ack.status
        if OrderStatus(status).is_terminal:
            self.orders.drop(follow.order.order_id)
        return ack

    def _dispatch(self, command: c.OrderCommand) -> OrderAck | FillAck | AnswerAck:
        ack: OrderAck | FillAck | AnswerAck = self.bus.dispatch(command)  # type: ignore[call-overload]
        return ack
