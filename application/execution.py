"""The execution process manager: takes placed orders to their exchange account and brings back
what happens there, through the same command handlers as everything else.

- It reads the event store after its own tracking position. On ``Order.Placed`` it records the
  order as submitted *before* sending it, so an order that may have reached the exchange is always
  marked as such; then it records the answer (accepted, rejected, fills, expired). On
  ``Order.CancelRequested`` it cancels at the exchange and records the outcome.
- An order whose submission outcome is unknown (timeout after sending, exchange outage) is looked
  up by its client order id, never sent blindly again. Only when the exchange has no such order,
  and the submission is older than ``settle_seconds`` (after which the exchange refuses it; Binance
  calls this the receive window), is it sent again, with the same client order id.
- It follows fills by asking each account for its open orders per symbol and looking up the ones
  that left that list; fills are recorded by trade id, so a fill reported twice is recorded once.
- Where the exchange pushes order changes (an OrderStream, a WebSocket), each change is acted on as
  it comes, the same way. Polling goes on as the safety net: at the usual pace until the stream has
  been up for ``stream_grace_seconds`` (so at least one poll follows every (re)connection and
  covers what happened while it was down), then only every ``stream_sweep_seconds`` (a stream
  can lose a message without breaking).
- On start-up, before it reads anything new, it reconciles every order it was following with the
  exchange; what it records then has the actor ``system:reconciliation``.

Exactly once: the order aggregate's ``sent`` state (recorded before sending), the client order id
(the exchange's own duplicate check), one holder of the execution lock at a time, and a tracking
position saved with the working orders only after a batch is done (a batch done twice finds its
orders already sent, and looks them up instead), each exchange answer recorded in one transaction
and never an order ended before its trades (application/execution_reports.py), and an answer that
cannot be recorded now asked for again shortly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog

from application import commands as c
from application.bus import CommandBus
from application.errors import DomainError, IllegalTransition
from application.execution_reports import answer_command, is_final, one_by_one
from application.execution_state import EventSource, ExecutionState, StoredEvent, WorkingOrder
from application.gateway import (
    ExchangeGateway,
    ExchangeOrder,
    ExchangeStatus,
    ExchangeTrade,
    ExchangeUnavailable,
    GatewayDirectory,
    OrderRefused,
    OrderStream,
    OrderUnknown,
    OutcomeUnknown,
    UnknownAccount,
)
from application.ports import Clock
from application.results import AnswerAck, FillAck, OrderAck
from application.store import TradingApplication
from domain.aggregate import TradingAggregate
from domain.bot import Bot
from domain.ids import ClientOrderId, OrderId, exchange_client_order_id, order_id_of_exchange_client_order_id
from domain.order import Order
from domain.order_states import OrderStatus
from domain.values import Symbol

EXECUTION_ACTOR = "system:execution"
RECONCILIATION_ACTOR = "system:reconciliation"
log = structlog.get_logger("tbot.execution")


@dataclass(frozen=True)
class Refused:
    """A report the order refused for good (logged; asking again would be refused again)."""

    error: DomainError


Recorded = OrderAck | FillAck | AnswerAck | Refused | None


@dataclass(frozen=True)
class Cause:
    """Who the manager records as the actor, and the request its records belong to."""

    actor: str
    correlation_id: str
    causation_id: str

    def fields(self) -> dict[str, str]:
        return {"actor": self.actor, "correlation_id": self.correlation_id, "causation_id": self.causation_id}

    @property
    def reconciling(self) -> bool:
        return self.actor == RECONCILIATION_ACTOR


@dataclass
class _Follow:
    """What the manager knows of a working order between exchange calls."""

    order: WorkingOrder
    filled: Decimal = Decimal(0)
    settled: bool = False  # the exchange has answered for the order (it has it, or it ended)
    check_at: float = 0.0  # when an unsettled order is looked up next (monotonic seconds)
    refused: tuple[ExchangeStatus, Decimal] | None = None  # an answer the order refused for good
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _Stream:
    """One account's order stream: its task, and since when it has been up (None while broken)."""

    task: asyncio.Task[None] | None = None
    up_since: float | None = None


@dataclass(frozen=True)
class ExecutionSettings:
    batch_size: int = 200
    concurrency: int = 32
    settle_seconds: float = 10.0
    retry_seconds: float = 1.0
    stream_grace_seconds: float = 3.0
    stream_sweep_seconds: float = 30.0


class ExecutionManager:
    def __init__(
        self,
        *,
        bus: CommandBus,
        store: TradingApplication,
        gateways: GatewayDirectory,
        state: ExecutionState,
        events: EventSource,
        clock: Clock,
        settings: ExecutionSettings | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus
        self.store = store
        self.gateways = gateways
        self.state = state
        self.events = events
        self.clock = clock
        self.settings = settings or ExecutionSettings()
        self.monotonic = monotonic
        self.position = 0
        self._working: dict[UUID, _Follow] = {}
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._streams: dict[str, _Stream] = {}
        self._polled: dict[tuple[str, Symbol], float] = {}  # when each group was last polled

    @property
    def working(self) -> list[WorkingOrder]:
        return [follow.order for follow in self._working.values()]

    # start-up

    async def start(self) -> int:
        """Loads the tracking position and the working orders, and reconciles each of them with its
        exchange; returns how many it reconciled. Nothing new is sent before this returns."""
        self._slots = asyncio.Semaphore(self.settings.concurrency)  # bound to this run's event loop
        self.position, working = await asyncio.to_thread(self.state.load)
        self._working = {order.order_id: _Follow(order) for order in working}
        run = f"reconcile-{self.clock.now():%Y%m%dT%H%M%S.%f}"
        cause = Cause(RECONCILIATION_ACTOR, run, run)
        await self._each(
            list(self._working.values()), lambda follow: self._safely(follow, self._resolve(follow, cause))
        )
        gone = [order.order_id for order in working if order.order_id not in self._working]
        await asyncio.to_thread(self.state.save, self.position, [], gone)
        log.info("reconciled", orders=len(working), ended=len(gone), position=self.position)
        return len(working)

    async def _resolve(self, follow: _Follow, cause: Cause) -> None:
        """Brings an order the manager already acted on in line with its exchange."""
        order = await self._order(follow)
        if order is None or order.status.is_terminal:
            self._working.pop(follow.order.order_id, None)
        elif order.status is OrderStatus.PENDING_CANCEL:
            await self._cancel(follow, order, cause)
        elif order.sent:
            await self._check(follow, order, cause)
        # never sent: its Order.Placed is still ahead of the tracking position

    # new events

    async def step(self) -> int:
        """Acts on the next batch of events; returns how many it read."""
        batch = await asyncio.to_thread(self.events.read, self.position, self.settings.batch_size)
        if not batch:
            return 0
        by_order: dict[UUID, list[StoredEvent]] = {}
        ended: list[UUID] = []
        for stored in batch:
            event = stored.event
            if isinstance(event, (Order.Placed, Order.CancelRequested)):
                by_order.setdefault(event.originator_id, []).append(stored)
            status = getattr(event, "status", None)
            if isinstance(event, Order.Event) and isinstance(status, OrderStatus) and status.is_terminal:
                ended.append(event.originator_id)
        taken_on = [await self._take_on(s.event) for s in batch if isinstance(s.event, Order.Placed)]
        if taken_on:  # saved before acting, so a restart reconciles them whatever happens next
            await asyncio.to_thread(self.state.save, self.position, [f.order for f in taken_on], [])
        await self._each(by_order.values(), self._act_on)
        for order_id in ended:
            self._working.pop(order_id, None)
        self.position = batch[-1].position
        await asyncio.to_thread(self.state.save, self.position, [], ended)
        return len(batch)

    async def _act_on(self, events: list[StoredEvent]) -> None:
        for stored in events:
            event = stored.event
            cause = Cause(
                EXECUTION_ACTOR,
                event.meta.correlation_id,
                f"{event.originator_id}:{event.originator_version}",
            )
            follow = self._working.get(event.originator_id)
            if follow is None:
                continue  # not one of ours, or already ended
            async with follow.lock:
                if not await self._safely(follow, self._act_on_one(follow, event, cause)):
                    return  # what is left of the order's events is done by its lookup

    async def _act_on_one(self, follow: _Follow, event: TradingAggregate.Event, cause: Cause) -> None:
        if isinstance(event, Order.Placed):
            await self._place(follow, cause)
            return
        order = await self._order(follow)
        if order is not None and order.status is OrderStatus.PENDING_CANCEL:
            await self._cancel(follow, order, cause)

    async def _take_on(self, event: Order.Placed) -> _Follow:
        bot = await asyncio.to_thread(self.store.load, Bot, event.bot_id)
        account = bot.exchange_account
        request = event.request
        order = WorkingOrder(
            event.originator_id,
            account,
            request.symbol,
            exchange_client_order_id(OrderId(event.originator_id)),
            event.meta.correlation_id,
        )
        follow = self._working.setdefault(order.order_id, _Follow(order))
        return follow

    async def _place(self, follow: _Follow, cause: Cause) -> None:
        order = await self._order(follow)
        if order is None or order.status is not OrderStatus.PENDING_NEW:
            # ended, or sent by an earlier run that stopped before its tracking position moved
            await self._resolve(follow, cause)
            return
        try:
            self.gateways.gateway(follow.order.account)
        except UnknownAccount as error:
            reason = str(error)
            await self._record(
                follow, c.RecordOrderRejected(order_id=order.id, reason=reason, **cause.fields())
            )
            return
        submitted = await self._record(follow, c.RecordOrderSubmitted(order_id=order.id, **cause.fields()))
        if isinstance(submitted, OrderAck) and submitted.changed:
            await self._send(follow, order, cause)
        elif submitted is not None:  # someone got there first, or it ended: find out where it stands
            self._unsettled(follow, "submission", None, later=0)

    # talking to the exchange

    def _gateway(self, follow: _Follow) -> ExchangeGateway:
        """The order's gateway; ExchangeUnavailable if its account is no longer configured (its
        credentials removed while it worked: it waits until they are back)."""
        return self._account(follow.order.account)

    def _account(self, account: str) -> ExchangeGateway:
        try:
            return self.gateways.gateway(account)
        except UnknownAccount as error:
            raise ExchangeUnavailable(str(error)) from error

    async def _send(self, follow: _Follow, order: Order, cause: Cause) -> None:
        try:
            request = replace(order.request, client_order_id=ClientOrderId(follow.order.client_order_id))
            placed = await self._gateway(follow).submit(request)
        except OrderRefused as refusal:
            reason = str(refusal) or "refused by the exchange"
            await self._record(
                follow, c.RecordOrderRejected(order_id=order.id, reason=reason, **cause.fields())
            )
        except (OutcomeUnknown, ExchangeUnavailable) as error:
            self._unsettled(follow, f"submission of {follow.order.client_order_id}", error)
        else:
            await self._sync(follow, placed, cause)

    async def _check(self, follow: _Follow, order: Order, cause: Cause) -> None:
        """Finds out from the exchange where an order stands and records it. An order the exchange
        never got is sent again once its submission can no longer arrive there."""
        try:
            found = await self._gateway(follow).lookup(follow.order.client_order_id, follow.order.symbol)
        except (OutcomeUnknown, ExchangeUnavailable) as error:
            self._unsettled(follow, f"lookup of {follow.order.client_order_id}", error)
            return
        if found is not None:
            await self._sync(follow, found, cause)
            return
        if order.exchange_order_id is not None:
            log.error("the exchange no longer has an accepted order", client_order_id=order.client_order_id)
            self._unsettled(follow, "lookup", None, later=self.settings.settle_seconds)
            return
        wait = self._settling(order)
        if wait > 0:
            self._unsettled(follow, "lookup", None, later=wait)
            return
        log.info("resending an order the exchange never got", client_order_id=order.client_order_id)
        await self._send(follow, order, cause)

    async def _cancel(self, follow: _Follow, order: Order, cause: Cause) -> None:
        try:
            answer = await self._cancelled(follow)
        except (OutcomeUnknown, ExchangeUnavailable) as error:
            self._unsettled(follow, f"cancel of {follow.order.client_order_id}", error)
            return
        if answer is None:  # the exchange does not have the order
            wait = self._settling(order)
            if order.exchange_order_id is None and wait > 0:
                self._unsettled(follow, "cancel", None, later=wait)
                return
            reason = "the exchange never had the order"
            await self._record(
                follow, c.RecordOrderCancelled(order_id=order.id, reason=reason, **cause.fields())
            )
            return
        if await self._sync(follow, answer, cause) and answer.status is ExchangeStatus.OPEN:
            reason = answer.reason or "the exchange kept the order open"
            await self._record(
                follow, c.RecordCancelRejected(order_id=order.id, reason=reason, **cause.fields())
            )

    async def _cancelled(self, follow: _Follow) -> ExchangeOrder | None:
        """The exchange's answer to cancelling the order: the order as it stands after, or None
        when the exchange does not have it."""
        gateway = self._gateway(follow)
        try:
            return await gateway.cancel(follow.order.client_order_id, follow.order.symbol)
        except OrderUnknown:
            return await gateway.lookup(follow.order.client_order_id, follow.order.symbol)

    async def _sync(self, follow: _Follow, answer: ExchangeOrder, cause: Cause) -> bool:
        """Records, in one transaction, what the exchange says of the order that the order does not
        show yet: accepted, each new trade (by trade id), and how it ended. True once the order
        shows all of it; otherwise (the answer could not be recorded now, or the exchange has not
        listed all the trades yet) the order is unsettled and looked up again shortly. Start-up
        reconciliation compares every trade the exchange lists with those recorded."""
        order = await self._order(follow)
        if order is None:
            return False
        if answer.status is ExchangeStatus.REJECTED:
            reason = answer.reason or "rejected by the exchange"
            rejected = await self._record(
                follow, c.RecordOrderRejected(order_id=order.id, reason=reason, **cause.fields())
            )
            follow.settled = rejected is not None
            return isinstance(rejected, OrderAck)
        if follow.refused == (answer.status, answer.filled):
            follow.settled = True
            return False  # refused for good before, and nothing has changed since
        trades: list[ExchangeTrade] = []
        if answer.filled > order.filled_quantity or (cause.reconciling and answer.filled > 0):
            try:
                trades = await self._gateway(follow).order_trades(answer)
            except (OutcomeUnknown, ExchangeUnavailable) as error:
                if order.status is OrderStatus.SUBMITTED:  # what is known meanwhile: accepted
                    await self._record(follow, answer_command(order.id, answer, [], cause.fields()))
                self._unsettled(follow, f"trades of {follow.order.client_order_id}", error)
                return False
        recorded = set(order.trade_ids)
        new = [trade for trade in trades if trade.trade_id not in recorded]
        ends = answer.status in (ExchangeStatus.CANCELLED, ExchangeStatus.EXPIRED) and order.status.is_open
        behind = answer.filled > order.filled_quantity
        if not (new or ends or behind or order.status is OrderStatus.SUBMITTED):
            follow.filled, follow.settled = order.filled_quantity, True
            return True  # the order shows all of it already
        command = answer_command(order.id, answer, new, cause.fields())
        ack = await self._record(follow, command)
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
            self._unsettled(follow, "trades", None)
            return False
        follow.settled = True
        return True

    async def _refused(
        self, follow: _Follow, answer: ExchangeOrder, command: c.RecordExchangeAnswer, accept: bool
    ) -> bool:
        """An answer the order refused as a whole is recorded part by part, so what it takes is
        kept; the same answer is not tried again, and one that ended the order at the exchange
        is not followed further in this run (start-up reconciliation tries it again)."""
        for part in one_by_one(command, accept):
            if await self._record(follow, part) is None:
                return False  # the rest waits for the next lookup
        follow.refused = (answer.status, answer.filled)
        follow.filled = max(follow.filled, answer.filled)
        follow.settled = True
        if answer.status.is_final:
            self._working.pop(follow.order.order_id, None)
        return False

    # following open orders

    async def poll(self) -> None:
        """Looks up the orders whose outcome is unknown and are due, and brings in what changed for
        the others: one open-orders request per account and symbol, a lookup for each order that
        left the list (for an account whose stream is up, only every ``stream_sweep_seconds``)."""
        now = self.monotonic()
        due = [f for f in self._working.values() if not f.settled and f.check_at <= now]
        await self._each(due, self._recheck)
        self._watch_accounts()
        groups: dict[tuple[str, Symbol], list[_Follow]] = {}
        for follow in self._working.values():
            key = (follow.order.account, follow.order.symbol)
            if follow.settled and self._poll_due(key, now):
                groups.setdefault(key, []).append(follow)
        await self._each(groups.values(), self._follow_group)

    def _poll_due(self, key: tuple[str, Symbol], now: float) -> bool:
        stream = self._streams.get(key[0])
        if (
            stream is None
            or stream.up_since is None
            or now - stream.up_since < self.settings.stream_grace_seconds
        ):
            return True
        return now - self._polled.get(key, float("-inf")) >= self.settings.stream_sweep_seconds

    # following order streams

    def _watch_accounts(self) -> None:
        """Starts watching each account with working orders whose exchange can push changes."""
        for account in {follow.order.account for follow in self._working.values()} - self._streams.keys():
            try:
                gateway = self.gateways.gateway(account)
            except UnknownAccount:
                continue
            stream = self._streams[account] = _Stream()
            if isinstance(gateway, OrderStream) and gateway.streams_orders:
                stream.task = asyncio.create_task(
                    self._watch(account, gateway, stream), name=f"watch-{account}"
                )

    async def _watch(self, account: str, gateway: OrderStream, stream: _Stream) -> None:
        while True:
            if stream.up_since is None:
                stream.up_since = self.monotonic()
            try:
                changes = await gateway.watch_orders()
                await self._each(changes, self._on_change)
            except Exception as error:  # a broken stream, or a change that could not be recorded
                stream.up_since = None  # polled at the usual pace until it has been back a while
                log.warning("order stream interrupted; polling meanwhile", account=account, error=str(error))
                await asyncio.sleep(self.settings.retry_seconds)

    async def _on_change(self, change: ExchangeOrder) -> None:
        follow = self._following(change.client_order_id)
        if follow is None:
            return  # not an order of ours, or already ended
        async with follow.lock:
            if follow.settled:
                await self._safely(follow, self._sync(follow, change, self._cause_of(follow)))
            else:
                await self._safely(follow, self._resolve(follow, self._cause_of(follow)))

    def _following(self, client_order_id: str) -> _Follow | None:
        try:
            order_id = order_id_of_exchange_client_order_id(client_order_id)
        except ValueError:
            return None
        follow = self._working.get(order_id)
        return follow if follow is not None and follow.order.client_order_id == client_order_id else None

    async def close(self) -> None:
        """Stops watching the order streams."""
        tasks = [stream.task for stream in self._streams.values() if stream.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._streams.clear()

    async def _recheck(self, follow: _Follow) -> None:
        async with follow.lock:  # an order never sent (its submission not recorded) is sent now
            await self._safely(follow, self._place(follow, self._cause_of(follow)))

    async def _follow_group(self, group: list[_Follow]) -> None:
        first = group[0].order
        try:
            listed = await self._account(first.account).open_orders(first.symbol)
        except Exception as error:  # an outage, or anything else: the next poll asks again
            log.warning(
                "could not list open orders",
                account=first.account,
                symbol=str(first.symbol),
                error=str(error),
            )
            return
        self._polled[(first.account, first.symbol)] = self.monotonic()
        still_open = {order.client_order_id: order for order in listed}
        for follow in group:
            answer = still_open.get(follow.order.client_order_id)
            if answer is not None and answer.filled <= follow.filled:
                continue
            async with follow.lock:
                if answer is None:
                    await self._safely(follow, self._resolve(follow, self._cause_of(follow)))
                else:
                    await self._safely(follow, self._sync(follow, answer, self._cause_of(follow)))

    # helpers

    def _cause_of(self, follow: _Follow) -> Cause:
        return Cause(EXECUTION_ACTOR, follow.order.correlation_id, f"follow:{follow.order.order_id}")

    def _settling(self, order: Order) -> float:
        """Seconds until the order's last step (its submission) can no longer reach the exchange;
        0 or less once it cannot."""
        return self.settings.settle_seconds - (self.clock.now() - order.modified_on).total_seconds()

    def _unsettled(
        self, follow: _Follow, what: str, error: Exception | None, later: float | None = None
    ) -> None:
        follow.settled = False
        follow.check_at = self.monotonic() + (self.settings.retry_seconds if later is None else later)
        if error is not None:
            log.warning("exchange outcome unknown; will look it up", what=what, error=str(error))

    async def _order(self, follow: _Follow) -> Order | None:
        return await asyncio.to_thread(self.store.find, Order, follow.order.order_id, True)

    async def _record(self, follow: _Follow, command: c.OrderCommand) -> Recorded:
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
                self._unsettled(follow, name, None)
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
            self._working.pop(follow.order.order_id, None)
        return ack

    def _dispatch(self, command: c.OrderCommand) -> OrderAck | FillAck | AnswerAck:
        ack: OrderAck | FillAck | AnswerAck = self.bus.dispatch(command)  # type: ignore[call-overload]
        return ack

    async def _safely(self, follow: _Follow, work: Awaitable[object]) -> bool:
        """Runs one order's work; whatever it raises (short of the process ending) is logged and
        leaves the order unsettled, looked up again shortly, instead of ending the batch, the
        poll or the worker. False when it raised."""
        try:
            await work
        except Exception as error:
            log.warning(
                "order work failed; will look the order up again",
                client_order_id=follow.order.client_order_id,
                error=repr(error),
                exc_info=True,
            )
            self._unsettled(follow, "order work", None)
            return False
        return True

    async def _each(self, items: Iterable[Any], act: Callable[[Any], Awaitable[object]]) -> None:
        async def bounded(item: Any) -> None:
            async with self._slots:
                await act(item)

        await asyncio.gather(*(bounded(item) for item in items))
