"""What a handler returns. ``position`` is the global position of the last event the command
appended (or, when it appended nothing, the store's position then), for read-your-writes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True)
class Ack:
    aggregate_id: UUID
    position: int
    changed: bool


@dataclass(frozen=True)
class OrderAck:
    order_id: UUID
    client_order_id: str
    status: str
    position: int
    changed: bool


@dataclass(frozen=True)
class DecisionAck:
    """``placed``: the orders the decision placed (their ids); ``denied``: the client order ids the
    risk rules refused, with the reason codes. Nothing of either when ``changed`` is False (the
    candle was decided on already)."""

    aggregate_id: UUID
    position: int
    changed: bool
    placed: tuple[UUID, ...] = ()
    denied: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class FillAck:
    order_id: UUID
    trade_id: str
    order_status: str
    position_quantity: Decimal
    realized_pnl: Decimal
    position: int
    changed: bool


@dataclass(frozen=True)
class AnswerAck:
    """``filled`` is the order's recorded filled quantity after the answer; ``complete`` says it
    reaches what the exchange says is filled (otherwise the order was not ended)."""

    order_id: UUID
    status: str
    filled: Decimal
    complete: bool
    position: int
    changed: bool


@dataclass(frozen=True)
class SignalAck:
    """What became of a signal message: ``status`` parsed (nothing to place), rejected (with
    ``reasons``), executed (``placed`` the entry orders, ``denied`` those the risk rules refused,
    ``cancelled`` the orders a cancel message called off) or called_off; ``changed`` False when
    the message was received before (its first outcome is answered)."""

    signal_id: UUID
    status: str
    position: int
    changed: bool
    reasons: tuple[str, ...] = ()
    placed: tuple[UUID, ...] = ()
    denied: tuple[tuple[str, tuple[str, ...]], ...] = ()
    cancelled: tuple[UUID, ...] = ()
    reader: str = "rules"  # which reader read the text: rules, or llm (the optional LLM reader)
