"""Placing orders at their exchange, and cancelling them, without ever sending one twice.

An order is recorded as submitted *before* it is sent, so an order that may have reached the
exchange is always marked as such; then the answer is recorded (accepted, rejected, fills,
expired). An order whose submission outcome is unknown (timeout after sending, exchange outage)
is looked up by its client order id, never sent blindly again. Only when the exchange has no such
order, and the submission is older than ``settle_seconds`` (after which the exchange refuses it;
Binance calls this the receive window), is it sent again, with the same client order id."""

from __future__ import annotations

from dataclasses import replace

import structlog

from application.execution.orders import Follow, WorkingOrders, gateway_of
from application.execution.recorder import Recorder
from application.execution.reports import Cause, OrderReports
from application.gateway import (
    ExchangeOrder,
    ExchangeStatus,
    ExchangeUnavailable,
    GatewayDirectory,
    OrderRefused,
    OrderUnknown,
    OutcomeUnknown,
    UnknownAccount,
)
from application.ports import Clock
from application.results import OrderAck
from domain.ids import ClientOrderId
from domain.order import Order
from domain.order_states import OrderStatus

log = structlog.get_logger("tbot.execution")


class Placer:
    """Sends, cancels and looks up orders at their exchange, and records what comes back."""

    def __init__(
        self,
        gateways: GatewayDirectory,
        orders: WorkingOrders,
        recorder: Recorder,
        clock: Clock,
    ) -> None:
        self.gateways = gateways
        self.orders = orders
        self.recorder = recorder
        self.clock = clock

    async def resolve(self, follow: Follow, cause: Cause) -> None:
        """Brings an order the manager already acted on in line with its exchange."""
        order = await self.recorder.order(follow)
        if order is None or order.status.is_terminal:
            self.orders.drop(follow.order.order_id)
        elif order.status is OrderStatus.PENDING_CANCEL:
            await self.cancel(follow, order, cause)
        elif order.sent:
            await self._check(follow, order, cause)
        # never sent: its Order.Placed is still ahead of the tracking position

    async def place(self, follow: Follow, cause: Cause) -> None:
        """Records the order as submitted, then sends it (unless it was sent or ended already)."""
        order = await self.recorder.order(follow)
        if order is None or order.status is not OrderStatus.PENDING_NEW:
            # ended, or sent by an earlier run that stopped before its tracking position moved
            await self.resolve(follow, cause)
            return
        reports = OrderReports(order.id, cause)
        try:
            self.gateways.gateway(follow.order.account)
        except UnknownAccount as error:
            await self.recorder.record(follow, reports.rejected(str(error)))
            return
        submitted = await self.recorder.record(follow, reports.submitted())
        if isinstance(submitted, OrderAck) and submitted.changed:
            await self._send(follow, order, cause)
        elif submitted is not None:  # someone got there first, or it ended: find out where it stands
            self.orders.unsettled(follow, "submission", None, later=0)

    async def cancel(self, follow: Follow, order: Order, cause: Cause) -> None:
        reports = OrderReports(order.id, cause)
        try:
            answer = await self._cancelled(follow)
        except (OutcomeUnknown, ExchangeUnavailable) as error:
            self.orders.unsettled(follow, f"cancel of {follow.order.client_order_id}", error)
            return
        if answer is None:  # the exchange does not have the order
            wait = self._settling(order)
            if order.exchange_order_id is None and wait > 0:
                self.orders.unsettled(follow, "cancel", None, later=wait)
                return
            await self.recorder.record(follow, reports.cancelled("the exchange never had the order"))
            return
        if await self.recorder.sync(follow, answer, cause) and answer.status is ExchangeStatus.OPEN:
            reason = answer.reason or "the exchange kept the order open"
            await self.recorder.record(follow, reports.cancel_rejected(reason))

    async def _send(self, follow: Follow, order: Order, cause: Cause) -> None:
        try:
            request = replace(order.request, client_order_id=ClientOrderId(follow.order.client_order_id))
            placed = await gateway_of(self.gateways, follow.order.account).submit(request)
        except OrderRefused as refusal:
            reason = str(refusal) or "refused by the exchange"
            await self.recorder.record(follow, OrderReports(order.id, cause).rejected(reason))
        except (OutcomeUnknown, ExchangeUnavailable) as error:
            self.orders.unsettled(follow, f"submission of {follow.order.client_order_id}", error)
        else:
            await self.recorder.sync(follow, placed, cause)

    async def _check(self, follow: Follow, order: Order, cause: Cause) -> None:
        """Finds out from the exchange where an order stands and records it. An order the exchange
        never got is sent again once its submission can no longer arrive there."""
        try:
            gateway = gateway_of(self.gateways, follow.order.account)
            found = await gateway.lookup(follow.order.client_order_id, follow.order.symbol)
        except (OutcomeUnknown, ExchangeUnavailable) as error:
            self.orders.unsettled(follow, f"lookup of {follow.order.client_order_id}", error)
            return
        if found is not None:
            await self.recorder.sync(follow, found, cause)
            return
        if order.exchange_order_id is not None:
            log.error("the exchange no longer has an accepted order", client_order_id=order.client_order_id)
            self.orders.unsettled(follow, "lookup", None, later=self.orders.settings.settle_seconds)
            return
        wait = self._settling(order)
        if wait > 0:
            self.orders.unsettled(follow, "lookup", None, later=wait)
            return
        log.info("resending an order the exchange never got", client_order_id=order.client_order_id)
        await self._send(follow, order, cause)

    async def _cancelled(self, follow: Follow) -> ExchangeOrder | None:
        """The exchange's answer to cancelling the order: the order as it stands after, or None
        when the exchange does not have it."""
        gateway = gateway_of(self.gateways, follow.order.account)
        try:
            return await gateway.cancel(follow.order.client_order_id, follow.order.symbol)
        except OrderUnknown:
            return await gateway.lookup(follow.order.client_order_id, follow.order.symbol)

    def _settling(self, order: Order) -> float:
        """Seconds until the order's last step (its submission) can no longer reach the exchange;
        0 or less once it cannot."""
        return self.orders.settings.settle_seconds - (self.clock.now() - order.modified_on).total_seconds()
