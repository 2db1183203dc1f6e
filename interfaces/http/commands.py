"""The command API: every write goes through the application's handlers, on FastAPI's thread
pool (these routes are plain functions), so the synchronous event store never blocks the loop."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog
from fastapi import APIRouter, Request
from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, Field

from application import commands as c
from application.access import Caller, check_bot, check_order
from application.bus import CommandBus
from application.results import Ack, OrderAck, SignalAck
from interfaces.http.bodies import JsonBodyRoute
from interfaces.http.deps import Box, BusDep, IdempotencyKey, OwnersDep, StoreDep, WriterDep
from interfaces.http.schemas import (
    ERRORS,
    CommandAccepted,
    CreateBotBody,
    DeniedOrder,
    KillBody,
    OrderAccepted,
    PlaceOrderBody,
    Reason,
    RiskLimitsBody,
    SignalAccepted,
    SignalBody,
    StrategyParamsBody,
)
from interfaces.signal_reading import read_signal

log = structlog.get_logger("tbot.http")
_tracer = trace.get_tracer("tbot.commands")
router = APIRouter(prefix="/v1", tags=["commands"], responses=ERRORS, route_class=JsonBodyRoute)

_LIFECYCLE: dict[str, type[c.StartBot | c.PauseBot | c.ResumeBot | c.StopBot]] = {
    "start": c.StartBot,
    "pause": c.PauseBot,
    "resume": c.ResumeBot,
    "stop": c.StopBot,
}


def _who(caller: Caller, request: Request) -> dict[str, str]:
    return {"actor": caller.user_id, "correlation_id": request.state.request_id}


def _dispatch(bus: CommandBus, command: Any) -> Any:
    """Sends the command, with its name bound to every log line it causes."""
    name = type(command).__name__
    with (
        structlog.contextvars.bound_contextvars(command=name, user_id=command.actor),
        _tracer.start_as_current_span(f"command {name}") as span,
    ):
        span.set_attribute("tbot.command", name)
        span.set_attribute("tbot.correlation_id", command.correlation_id)
        ack = bus.dispatch(command)
        span.set_attribute("tbot.position", ack.position)
        log.info("command", position=ack.position, changed=ack.changed)
    return ack


def _accepted(ack: Ack) -> CommandAccepted:
    return CommandAccepted(id=ack.aggregate_id, position=ack.position, changed=ack.changed)


def _order_accepted(ack: OrderAck) -> OrderAccepted:
    return OrderAccepted(
        id=ack.order_id,
        position=ack.position,
        changed=ack.changed,
        client_order_id=ack.client_order_id,
        status=ack.status,
    )


@router.post("/bots", status_code=201, response_model=CommandAccepted)
def create_bot(
    body: CreateBotBody,
    caller: WriterDep,
    bus: BusDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> CommandAccepted:
    """Create a bot owned by the caller. With an ``Idempotency-Key``, repeating the request
    returns the first bot and appends nothing."""
    command = c.CreateBot(
        **_who(caller, request),
        name=body.name,
        strategy=body.strategy,
        allowed_symbols=body.allowed_symbols,
        limits=body.limits.as_limits(),
        exchange_account=body.exchange_account,
        params=body.params,
        idempotency_key=idempotency_key,
    )
    return _accepted(_dispatch(bus, command))


def _lifecycle_route(
    action: str, command_type: type[c.StartBot | c.PauseBot | c.ResumeBot | c.StopBot]
) -> None:
    def change_bot(
        bot_id: UUID, caller: WriterDep, bus: BusDep, owners: OwnersDep, request: Request
    ) -> CommandAccepted:
        check_bot(owners, caller, bot_id)
        return _accepted(_dispatch(bus, command_type(**_who(caller, request), bot_id=bot_id)))

    router.add_api_route(
        f"/bots/{{bot_id}}/{action}",
        change_bot,
        methods=["POST"],
        response_model=CommandAccepted,
        name=f"{action}_bot",
        summary=f"{action.capitalize()} a bot",
    )


for _action, _command in _LIFECYCLE.items():
    _lifecycle_route(_action, _command)


@router.post("/bots/{bot_id}/kill", response_model=CommandAccepted, name="kill_bot")
def kill_bot(
    bot_id: UUID,
    caller: WriterDep,
    bus: BusDep,
    owners: OwnersDep,
    request: Request,
    body: KillBody | None = None,
) -> CommandAccepted:
    """Trip the bot's kill switch: until it is reset, every order that could grow or flip a
    position is denied (orders that only reduce one pass), and every open order of the bot is
    asked to cancel."""
    check_bot(owners, caller, bot_id)
    reason = (body or KillBody()).reason
    return _accepted(_dispatch(bus, c.TripKillSwitch(**_who(caller, request), bot_id=bot_id, reason=reason)))


class ResetKillSwitchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(examples=["daily loss reviewed; trading may resume"])


@router.post("/bots/{bot_id}/kill-switch/reset", response_model=CommandAccepted, name="reset_kill_switch")
def reset_kill_switch(
    bot_id: UUID,
    body: ResetKillSwitchBody,
    caller: WriterDep,
    bus: BusDep,
    owners: OwnersDep,
    request: Request,
) -> CommandAccepted:
    """Reset the bot's kill switch (its owner or an admin), recorded with the caller and the
    reason. Only this turns the switch off: stopping and starting the bot leaves it on. A switch
    that is not on stays off: 200 with ``changed`` false."""
    check_bot(owners, caller, bot_id)
    command = c.ResetKillSwitch(**_who(caller, request), bot_id=bot_id, reason=body.reason)
    return _accepted(_dispatch(bus, command))


@router.put("/bots/{bot_id}/risk-limits", response_model=CommandAccepted)
def update_risk_limits(
    bot_id: UUID, body: RiskLimitsBody, caller: WriterDep, bus: BusDep, owners: OwnersDep, request: Request
) -> CommandAccepted:
    check_bot(owners, caller, bot_id)
    command = c.UpdateRiskLimits(**_who(caller, request), bot_id=bot_id, limits=body.as_limits())
    return _accepted(_dispatch(bus, command))


@router.put("/bots/{bot_id}/params", response_model=CommandAccepted)
def update_strategy_params(
    bot_id: UUID,
    body: StrategyParamsBody,
    caller: WriterDep,
    bus: BusDep,
    owners: OwnersDep,
    request: Request,
) -> CommandAccepted:
    """New parameters for the bot's strategy, checked by the strategy (422 naming
    `body.params.<field>` and the rule); recorded on the bot, used from its next decision on.
    The same parameters again change nothing: `changed` false."""
    check_bot(owners, caller, bot_id)
    command = c.UpdateStrategyParams(**_who(caller, request), bot_id=bot_id, params=body.params)
    return _accepted(_dispatch(bus, command))


@router.post("/bots/{bot_id}/orders", status_code=201, response_model=OrderAccepted)
def place_order(
    bot_id: UUID,
    body: PlaceOrderBody,
    caller: WriterDep,
    bus: BusDep,
    owners: OwnersDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> OrderAccepted:
    """Place an order: risk-checked, and recorded either way. A denial answers 422 with its
    reason codes and the id of the recorded denial. The same client order id (or
    ``Idempotency-Key``) twice places one order."""
    check_bot(owners, caller, bot_id)
    command = c.PlaceOrder(
        **_who(caller, request),
        bot_id=bot_id,
        symbol=body.symbol,
        side=body.side,
        order_type=body.order_type,
        quantity=body.quantity,
        price=body.price,
        stop_price=body.stop_price,
        time_in_force=body.time_in_force,
        client_order_id=body.client_order_id,
        idempotency_key=idempotency_key,
        stop_loss=body.stop_loss,
        take_profit=body.take_profit,
    )
    return _order_accepted(_dispatch(bus, command))


@router.post("/bots/{bot_id}/signals", status_code=201, response_model=SignalAccepted)
def receive_signal(
    bot_id: UUID,
    body: SignalBody,
    caller: WriterDep,
    bus: BusDep,
    owners: OwnersDep,
    store: StoreDep,
    box: Box,
    request: Request,
) -> SignalAccepted:
    """A trading-signal message for a bot with strategy ``signals``: recorded as it came, read,
    and traded through the bot's risk rules in one transaction (docs/signals.md). A message the
    rules cannot read for certain is recorded as rejected with its reason codes (still 201: the
    message was taken). The same ``source`` and ``message_id`` again answer the first outcome; with
    another text it is an edit, which replaces the plan while none of its entries has filled and
    is only recorded after."""
    check_bot(owners, caller, bot_id)
    settings = box.settings().signals
    reading, reader = read_signal(settings, store, bot_id, body.text, body.source, body.message_id)
    command = c.ReceiveSignal(
        **_who(caller, request),
        bot_id=bot_id,
        text=body.text,
        source=body.source,
        message_id=body.message_id,
        reading=reading,
        reader=reader,
    )
    return _signal_accepted(_dispatch(bus, command))


def _signal_accepted(ack: SignalAck) -> SignalAccepted:
    return SignalAccepted(
        id=ack.signal_id,
        position=ack.position,
        changed=ack.changed,
        status=ack.status,
        reasons=list(ack.reasons),
        orders=list(ack.placed),
        denied=[DeniedOrder(client_order_id=coid, reasons=list(codes)) for coid, codes in ack.denied],
        cancelled=list(ack.cancelled),
        reader="llm" if ack.reader == "llm" else "rules",
    )


@router.delete("/orders/{order_id}", response_model=OrderAccepted)
def cancel_order(
    order_id: UUID, caller: WriterDep, bus: BusDep, store: StoreDep, request: Request
) -> OrderAccepted:
    """Ask for a cancel; an order never sent to the exchange is cancelled at once."""
    check_order(store, caller, order_id)
    return _order_accepted(_dispatch(bus, c.CancelOrder(**_who(caller, request), order_id=order_id)))
