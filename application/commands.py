"""Commands: imperative requests to change state. Raw values are checked by the handlers,
so every caller (HTTP, CLI, demo, tests) gets the same field-named errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.signals import SignalResult


@dataclass(frozen=True, kw_only=True)
class Command:
    """Who asks (``actor``) and the request it belongs to (``correlation_id``)."""

    actor: str
    correlation_id: str = ""
    causation_id: str = ""


@dataclass(frozen=True, kw_only=True)
class CreateBot(Command):
    name: str
    strategy: str
    allowed_symbols: list[str]
    limits: dict[str, Any]
    exchange_account: str = "paper"
    params: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class BotCommand(Command):
    bot_id: UUID


@dataclass(frozen=True, kw_only=True)
class StartBot(BotCommand):
    pass


@dataclass(frozen=True, kw_only=True)
class PauseBot(BotCommand):
    pass


@dataclass(frozen=True, kw_only=True)
class ResumeBot(BotCommand):
    pass


@dataclass(frozen=True, kw_only=True)
class StopBot(BotCommand):
    pass


@dataclass(frozen=True, kw_only=True)
class UpdateRiskLimits(BotCommand):
    limits: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class UpdateStrategyParams(BotCommand):
    params: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class RecordDecision(BotCommand):
    """What the bot's strategy decided on the candle of ``timeframe`` that closed at
    ``candle_at``: ``intents`` as plain values, the orders they become (empty: no action)."""

    timeframe: str
    candle_at: datetime
    params_hash: str
    intents: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class TripKillSwitch(BotCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class ResetKillSwitch(BotCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class PlaceOrder(BotCommand):
    symbol: str
    side: str
    order_type: str
    quantity: Decimal | str | int
    price: Decimal | str | int | None = None
    stop_price: Decimal | str | int | None = None
    time_in_force: str = "GTC"
    client_order_id: str | None = None
    idempotency_key: str | None = None
    stop_loss: Decimal | str | int | None = None
    take_profit: Decimal | str | int | None = None


@dataclass(frozen=True, kw_only=True)
class ReceiveSignal(BotCommand):
    """A signal message for a bot that follows signals: ``source`` (where it came from, e.g.
    ``api`` or ``telegram:<chat>``) and ``message_id`` make it one signal however often it is
    sent; without a message id each one is a signal of its own."""

    text: str
    source: str = "api"
    message_id: str | None = None
    reading: SignalResult | None = None  # the text already read (by the LLM reader); None: the rules read it
    reader: str = "rules"  # which reader gave ``reading``


@dataclass(frozen=True, kw_only=True)
class OrderCommand(Command):
    order_id: UUID


@dataclass(frozen=True, kw_only=True)
class CancelOrder(OrderCommand):
    pass


@dataclass(frozen=True, kw_only=True)
class RecordOrderSubmitted(OrderCommand):
    pass


@dataclass(frozen=True, kw_only=True)
class RecordOrderAccepted(OrderCommand):
    exchange_order_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordOrderRejected(OrderCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class RecordFill(OrderCommand):
    trade_id: str
    quantity: Decimal | str | int
    price: Decimal | str | int
    fee: Decimal | str | int = Decimal(0)
    fee_currency: str | None = None
    fee_quote: Decimal | str | int | None = None  # the fee's worth in quote, for a third-currency fee


@dataclass(frozen=True, kw_only=True)
class ReportedTrade:
    """One trade of an order as the exchange lists it (the fields of ``RecordFill``)."""

    trade_id: str
    quantity: Decimal | str | int
    price: Decimal | str | int
    fee: Decimal | str | int = Decimal(0)
    fee_currency: str | None = None
    fee_quote: Decimal | str | int | None = None


@dataclass(frozen=True, kw_only=True)
class RecordExchangeAnswer(OrderCommand):
    """What the exchange says of a sent order, recorded in one transaction: accepted (with its id
    there), every listed trade not recorded yet, and how it ended (``outcome``: open, filled,
    cancelled or expired). ``filled`` is how much the exchange says is filled: the order is not
    ended before its recorded fills reach it."""

    exchange_order_id: str | None = None
    outcome: str
    filled: Decimal | str | int
    trades: tuple[ReportedTrade, ...] = ()
    reason: str = "cancelled at the exchange"


@dataclass(frozen=True, kw_only=True)
class RecordOrderCancelled(OrderCommand):
    reason: str = "cancelled at the exchange"


@dataclass(frozen=True, kw_only=True)
class RecordCancelRejected(OrderCommand):
    reason: str


@dataclass(frozen=True, kw_only=True)
class RecordOrderExpired(OrderCommand):
    pass


@dataclass(frozen=True, kw_only=True)
class RecordProtectionFired(Command):
    """The protection worker asked for a position's closing order (placed, or denied by risk):
    the ``attempt``-th time in the position's ``episode``."""

    position_id: UUID
    episode: int
    attempt: int
    kind: str
    level: Decimal
    mark: Decimal
    client_order_id: str
    order_id: UUID | None
    denied: list[str]
    target: int | None = None  # a ladder's target whose part of the position it closes
    quantity: Decimal | None = None  # the closing order's quantity
