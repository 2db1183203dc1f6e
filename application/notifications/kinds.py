"""What a user can choose to be told, and how each event becomes one: the kinds, which events
each covers, and their short text and JSON ``data`` (decimals as strings).

``subject_of(envelope_event, load)`` answers the kind, the bot it is about and what to say, or None
for an event no kind covers. ``load`` gives an aggregate by id (the store's, at its head): an
``Order.Filled`` does not say its bot or symbol, its order does."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from domain.aggregate import TradingAggregate
from domain.bot import Bot
from domain.order import Order
from domain.order_states import OrderStatus
from domain.position import Position
from domain.signal import Signal

KINDS: Mapping[str, str] = {
    "order_filled": "an order filled, fully or in part (Order.Filled)",
    "order_rejected": "the exchange rejected an order (Order.Rejected)",
    "risk_denied": "the risk rules denied an order (Bot.OrderDenied)",
    "kill_switch": "the kill switch tripped or was reset (Bot.KillSwitchTripped, Bot.KillSwitchReset)",
    "protection_fired": "a stop loss or take profit placed its closing order (Position.ProtectionFired)",
    "bot_lifecycle": "a bot was created, started, paused, resumed or stopped (Bot.Created/.../Stopped)",
    "signal_rejected": "a signal message was not traded (Signal.Rejected)",
    "signal_executed": "a signal's orders were decided (Signal.Executed)",
    "daily_pnl": "each bot's realized PnL over the last 24 hours, once a UTC day at the configured hour",
}
"""Every kind a channel can subscribe to, with what it covers."""

Load = Callable[[UUID], TradingAggregate]


@dataclass(frozen=True)
class Subject:
    """What one event tells: its kind, the bot it is about, a title, a short text and ``data``."""

    kind: str
    bot_id: UUID
    title: str
    text: str
    data: dict[str, object]


def _s(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


_LIFECYCLE = {
    Bot.Created: "created",
    Bot.Started: "started",
    Bot.Paused: "paused",
    Bot.Resumed: "resumed",
    Bot.Stopped: "stopped",
}


def subject_of(event: TradingAggregate.Event, load: Load) -> Subject | None:
    """The notification ``event`` makes, or None when no kind covers it."""
    aggregate_id = event.originator_id
    if isinstance(event, tuple(_LIFECYCLE)):
        bot = cast(Bot, load(aggregate_id))
        verb = _LIFECYCLE[type(event)]
        return Subject(
            "bot_lifecycle",
            aggregate_id,
            f"Bot {verb}",
            f"Bot {bot.name!r} was {verb}",
            {"bot_id": str(aggregate_id), "bot_name": bot.name, "event": verb},
        )
    if isinstance(event, Bot.KillSwitchTripped | Bot.KillSwitchReset):
        bot = cast(Bot, load(aggregate_id))
        tripped = isinstance(event, Bot.KillSwitchTripped)
        reason = event.reason
        state = "tripped" if tripped else "reset"
        return Subject(
            "kill_switch",
            aggregate_id,
            f"Kill switch {state}",
            f"Bot {bot.name!r}: kill switch {state}" + (f" ({reason})" if reason else ""),
            {"bot_id": str(aggregate_id), "bot_name": bot.name, "state": state, "reason": reason},
        )
    if isinstance(event, Bot.OrderDenied):
        request = event.request
        codes = [str(getattr(code, "value", code)) for code in event.reason_codes]
        return Subject(
            "risk_denied",
            aggregate_id,
            "Order denied",
            f"{request.side.value.capitalize()} {_s(request.quantity)} {request.symbol.base} denied: "
            + ", ".join(codes),
            {
                "bot_id": str(aggregate_id),
                "client_order_id": request.client_order_id,
                "symbol": str(request.symbol),
                "side": request.side.value,
                "quantity": _s(request.quantity),
                "reason_codes": codes,
            },
        )
    if isinstance(event, Order.Filled):
        order = cast(Order, load(aggregate_id))
        request = order.request
        full = event.status == OrderStatus.FILLED
        verb = "Bought" if request.side.value == "buy" else "Sold"
        return Subject(
            "order_filled",
            order.bot_id,
            "Order filled" if full else "Order partly filled",
            f"{verb} {_s(event.quantity)} {request.symbol.base} at {_s(event.price)} {request.symbol.quote}"
            + ("" if full else " (partly filled)"),
            {
                "bot_id": str(order.bot_id),
                "order_id": str(aggregate_id),
                "client_order_id": request.client_order_id,
                "symbol": str(request.symbol),
                "side": request.side.value,
                "quantity": _s(event.quantity),
                "price": _s(event.price),
                "fee": _s(event.fee),
                "fee_currency": event.fee_currency,
                "status": event.status.value,
            },
        )
    if isinstance(event, Order.Rejected):
        order = cast(Order, load(aggregate_id))
        request = order.request
        return Subject(
            "order_rejected",
            order.bot_id,
            "Order rejected",
            f"{request.side.value.capitalize()} {_s(request.quantity)} {request.symbol.base} rejected: "
            + event.reason,
            {
                "bot_id": str(order.bot_id),
                "order_id": str(aggregate_id),
                "client_order_id": request.client_order_id,
                "symbol": str(request.symbol),
                "reason": event.reason,
            },
        )
    if isinstance(event, Position.ProtectionFired):
        if event.order_id is None:
            return None  # a denied attempt: the risk denial tells it
        position = cast(Position, load(aggregate_id))
        label = "Stop loss" if event.kind == "stop_loss" else "Take profit"
        return Subject(
            "protection_fired",
            position.bot_id,
            f"{label} fired",
            f"{label} on {position.symbol} at {_s(event.level)} (mark {_s(event.mark)})",
            {
                "bot_id": str(position.bot_id),
                "symbol": str(position.symbol),
                "kind": event.kind,
                "level": _s(event.level),
                "mark": _s(event.mark),
                "order_id": str(event.order_id),
            },
        )
    if isinstance(event, Signal.Rejected | Signal.Executed):
        signal = cast(Signal, load(aggregate_id))
        return _signal(event, signal)
    return None


def _signal(event: Signal.Rejected | Signal.Executed, signal: Signal) -> Subject:
    data: dict[str, Any] = {"bot_id": str(signal.bot_id), "signal_id": str(event.originator_id)}
    data["source"], data["message_id"] = signal.source, signal.message_id
    if isinstance(event, Signal.Rejected):
        data["reasons"] = list(event.reasons)
        return Subject(
            "signal_rejected",
            signal.bot_id,
            "Signal rejected",
            "Not traded: " + ", ".join(event.reasons),
            data,
        )
    data["orders"] = [str(order) for order in event.orders]
    data["denied"] = [
        {"client_order_id": str(d.get("client_order_id")), "reasons": [str(r) for r in d.get("reasons", [])]}
        for d in event.denied
    ]
    text = f"{len(event.orders)} order(s) placed" + (f", {len(event.denied)} denied" if event.denied else "")
    return Subject("signal_executed", signal.bot_id, "Signal executed", text, data)


def daily_subject(
    bot_id: UUID, name: str, realized: Decimal, fills: int, total: Decimal, start: datetime, end: datetime
) -> Subject:
    """The daily summary of one bot: realized PnL (fees included, in its markets' quote currency)
    from ``start`` to ``end``, the fills in that time, and the bot's realized PnL in all."""
    sign = "+" if realized > 0 else ""
    text = f"Bot {name!r}: realized PnL {sign}{_s(realized)} over the last 24 h ({fills} fills)"
    return Subject(
        "daily_pnl",
        bot_id,
        "Daily PnL",
        f"{text}; {_s(total)} in all",
        {
            "bot_id": str(bot_id),
            "bot_name": name,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "realized_pnl": _s(realized),
            "fills": fills,
            "realized_pnl_total": _s(total),
        },
    )
