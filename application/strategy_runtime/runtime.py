"""Calls each running bot's strategy once per closed candle of its timeframe, and carries out what
it decides through the command bus, as any other command (risk-checked, recorded).

For a bot it holds the lease of, a turn finds the latest candle of the bot's timeframe that has
closed on all its symbols (a candle is closed once a later one-minute candle exists: the runtime
never decides on a candle still in progress, and never makes one up). If the bot has not decided
on it yet, the strategy gets the closed candles it asked for (its warm-up, resampled from the
stored one-minute candles, none after the candle) and the bot's view, and returns intents. The
runtime makes them concrete (a close becomes a market order for the position, quantities are
rounded down to the market's step), records the decision on the bot (``Bot.DecisionMade``, every
decision, no action included), then places them, each with a client order id derived from the
candle and the intent's index. A runtime restarted between the two, or a second runtime racing it,
finds the decision recorded and places its intents again: the same client order ids make that a
no-op. Only the latest closed candle is decided on: a bot resumed, or a runtime back after an
outage, carries on from the next closed candle rather than trading on stale ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog

from application import commands as c
from application.bus import CommandBus
from application.errors import IdempotencyMismatch, IllegalTransition, NotFound, OrderDenied
from application.ports import Clock, MarketRules
from application.store import TradingApplication
from application.strategy_runtime.ports import BotLeases, CandleHistory, Decider, StrategyBook, StrategyBots
from domain.bot import Bot, BotStatus
from domain.errors import InvalidInput
from domain.ids import BotId, ClientOrderId, order_id_for, position_id_for
from domain.market import Candle
from domain.order import Order
from domain.position import Position
from domain.strategy import (
    BotView,
    Cancel,
    Close,
    Intent,
    OrderView,
    Place,
    PositionView,
    intent_from_plain,
    resample,
    strategy_client_order_id,
)
from domain.values import OrderType, Side, Symbol

log = structlog.get_logger("tbot.strategies")
STRATEGY_ACTOR = "system:strategy"


def params_hash(params: Mapping[str, Any]) -> str:
    """A short fingerprint of a bot's params: which parameters a decision was made with."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Bound:
    """A bot's strategy bound to its params, kept while the params and symbols stay the same."""

    key: tuple[str, str, tuple[str, ...]]
    decider: Decider | None


class StrategyRuntime:
    def __init__(
        self,
        *,
        bus: CommandBus,
        store: TradingApplication,
        book: StrategyBook,
        candles: CandleHistory,
        bots: StrategyBots,
        leases: BotLeases,
        markets: MarketRules,
        clock: Clock,
        stall_seconds: float = 180.0,
    ) -> None:
        self.bus = bus
        self.store = store
        self.book = book
        self.candles = candles
        self.bots = bots
        self.leases = leases
        self.markets = markets
        self.clock = clock
        self.stall_seconds = stall_seconds
        self.held: set[UUID] = set()
        self.stalled: set[Symbol] = set()
        """Symbols whose market data stopped: no new candle for ``stall_seconds``."""
        self._bound: dict[UUID, _Bound] = {}
        self._carried_out: dict[UUID, datetime] = {}  # the last decision each bot's intents were placed for
        self._waiting: dict[UUID, str] = {}  # why a bot could not decide yet, logged once

    def turn(self) -> int:
        """One look at every bot this runtime holds; returns the decisions recorded."""
        self.held = self.leases.claim(self.bots.running())
        for gone in set(self._bound) - self.held:
            self._carried_out.pop(gone, None)
            self._bound.pop(gone, None)
        bots: list[tuple[Bot, Decider]] = []
        for bot_id in sorted(self.held):
            bot = self.store.find(Bot, bot_id, read_only=True)
            if bot is None or bot.status is not BotStatus.RUNNING:
                continue
            try:
                decider = self._decider(bot)
            except InvalidInput as error:
                self._wait(bot_id, f"cannot decide: {error}")
                continue
            if decider is not None:
                bots.append((bot, decider))
        newest = self.candles.newest(sorted({s for _, d in bots for s in d.symbols}, key=str))
        self._report_stalls(newest)
        windows: dict[tuple[Symbol, datetime, int], list[Candle]] = {}  # shared by the bots this turn
        decided = 0
        for bot, decider in bots:
            try:
                decided += self._run(bot, decider, newest, windows)
            except (InvalidInput, IllegalTransition, NotFound) as error:
                self._wait(bot.id, f"cannot decide: {error}")
        return decided

    def release(self) -> None:
        """Lets go of every lease (the runtime stops or lost its store)."""
        self.leases.release_all()
        self.held = set()
        self._carried_out.clear()

    def _run(
        self,
        bot: Bot,
        decider: Decider,
        newest: Mapping[Symbol, datetime],
        windows: dict[tuple[Symbol, datetime, int], list[Candle]],
    ) -> int:
        if any(symbol not in newest for symbol in decider.symbols):
            self._wait(bot.id, "no candles of its symbols yet")
            return 0
        # the latest candle of its timeframe closed on all its symbols (a one-minute candle is
        # closed once a later one exists)
        candle_at = min(decider.timeframe.opening(newest[symbol]) for symbol in decider.symbols)
        decided_through = bot.decided_through
        if decided_through is not None and candle_at <= decided_through:
            if self._carried_out.get(bot.id) != decided_through:  # after a restart, or another runtime
                self._carry_out(bot.bot_id, decided_through, list(bot.last_intents))
                self._carried_out[bot.id] = decided_through
            return 0
        return self._decide(bot, decider, candle_at, windows)

    def _decider(self, bot: Bot) -> Decider | None:
        allowed = [Symbol.parse(text, "allowed_symbols") for text in bot.allowed_symbols]
        key = (bot.strategy, params_hash(bot.params), tuple(bot.allowed_symbols))
        bound = self._bound.get(bot.id)
        if bound is None or bound.key != key:
            bound = _Bound(key, self.book.bind(bot.strategy, bot.params, allowed))
            self._bound[bot.id] = bound
        return bound.decider

    def _decide(
        self,
        bot: Bot,
        decider: Decider,
        candle_at: datetime,
        windows: dict[tuple[Symbol, datetime, int], list[Candle]],
    ) -> int:
        minutes = decider.warmup * decider.timeframe.minutes
        candles: dict[Symbol, list[Candle]] = {}
        for symbol in decider.symbols:
            key = (symbol, candle_at, minutes)
            if key not in windows:
                windows[key] = self.candles.window(symbol, candle_at, minutes)
            window = resample(windows[key], decider.timeframe)
            if len(window) < decider.warmup:
                self._wait(bot.id, f"warming up: {len(window)} of {decider.warmup} candles of {symbol}")
                return 0
            candles[symbol] = window[-decider.warmup :] if decider.warmup else window
        self._waiting.pop(bot.id, None)
        view = self._view(bot, candles, candle_at)
        orders = self._concrete(bot, decider.decide(candles, view), view)
        plain = [intent.plain() for intent in orders]
        ack = self.bus.dispatch(
            c.RecordDecision(
                actor=STRATEGY_ACTOR,
                correlation_id=_correlation(bot.id, candle_at),
                bot_id=bot.id,
                timeframe=decider.timeframe.name,
                candle_at=candle_at,
                params_hash=params_hash(bot.params),
                intents=plain,
            )
        )
        if not ack.changed:  # another runtime recorded it first: it places them
            return 0
        log.info("decided", bot_id=str(bot.id), candle_at=candle_at.isoformat(), intents=plain)
        self._carry_out(bot.bot_id, candle_at, plain)
        self._carried_out[bot.id] = candle_at
        return 1

    def _view(self, bot: Bot, candles: Mapping[Symbol, Sequence[Candle]], candle_at: datetime) -> BotView:
        positions = {}
        for symbol in candles:
            position = self.store.find(Position, position_id_for(bot.bot_id, str(symbol)), read_only=True)
            if position is not None:
                positions[symbol] = PositionView(
                    symbol, position.quantity, position.average_price, position.realized_pnl
                )
        orders = []
        for order_id in bot.open_order_ids():
            order = self.store.find(Order, order_id, read_only=True)
            if order is not None:
                request = order.request
                orders.append(
                    OrderView(
                        str(request.client_order_id),
                        request.symbol,
                        request.side,
                        request.order_type,
                        request.quantity,
                        order.remaining,
                        request.price,
                        request.stop_price,
                    )
                )
        marks = {symbol: window[-1].close for symbol, window in candles.items() if window}
        return BotView(candle_at, positions, tuple(orders), marks)

    def _concrete(self, bot: Bot, intents: Sequence[Intent], view: BotView) -> list[Place | Cancel]:
        """Intents as the orders they become: a close is a market order for the position (none
        when flat); quantities are rounded down to the market's step (none when that leaves 0)."""
        concrete: list[Place | Cancel] = []
        for intent in intents:
            if isinstance(intent, Cancel):
                concrete.append(intent)
                continue
            place = intent if isinstance(intent, Place) else self._closing(intent, view)
            if place is None:
                continue
            quantity = self._on_step(bot, place.symbol, place.quantity)
            if quantity > 0:
                concrete.append(replace(place, quantity=quantity))
        return concrete

    @staticmethod
    def _closing(close: Close, view: BotView) -> Place | None:
        held = view.quantity(close.symbol)
        if held == 0:
            return None
        return Place(close.symbol, Side.SELL if held > 0 else Side.BUY, abs(held), OrderType.MARKET)

    def _on_step(self, bot: Bot, symbol: Symbol, quantity: Decimal) -> Decimal:
        spec = self.markets.market(bot.exchange_account, symbol)
        if spec is None or spec.amount_step <= 0:
            return quantity
        stepped = (quantity // spec.amount_step) * spec.amount_step
        return stepped.quantize(Decimal(1)) if stepped == stepped.to_integral() else stepped.normalize()

    def _carry_out(self, bot_id: BotId, candle_at: datetime, intents: list[dict[str, Any]]) -> None:
        """Places (or cancels) what a recorded decision asked for, caused by the candle; repeating
        it changes nothing."""
        cause = {
            "actor": STRATEGY_ACTOR,
            "correlation_id": _correlation(bot_id, candle_at),
            "causation_id": f"candle:{candle_at:%Y%m%dT%H%M}",
        }
        for index, plain in enumerate(intents):
            intent = intent_from_plain(plain)
            try:
                if isinstance(intent, Cancel):
                    order_id = order_id_for(bot_id, ClientOrderId(intent.client_order_id))
                    self.bus.dispatch(c.CancelOrder(**cause, order_id=order_id))
                elif isinstance(intent, Place):
                    self.bus.dispatch(
                        _place(bot_id, intent, strategy_client_order_id(candle_at, index), cause)
                    )
            except OrderDenied as denied:  # recorded on the bot with its reasons
                codes = [code.value for code in denied.reason_codes]
                log.info(
                    "intent denied", bot_id=str(bot_id), client_order_id=denied.client_order_id, reasons=codes
                )
            except (IdempotencyMismatch, IllegalTransition, NotFound) as error:  # done already, or moot
                log.info("intent not carried out", bot_id=str(bot_id), intent=plain, reason=str(error))

    def _wait(self, bot_id: UUID, why: str) -> None:
        if self._waiting.get(bot_id) != why:
            self._waiting[bot_id] = why
            log.info("bot not deciding", bot_id=str(bot_id), why=why)

    def _report_stalls(self, newest: Mapping[Symbol, datetime]) -> None:
        """Logs a symbol whose market data stopped (no new candle for ``stall_seconds``), and its
        return; ``stalled`` is what the worker's health shows. Nothing is made up meanwhile."""
        limit = self.clock.now() - timedelta(seconds=self.stall_seconds, minutes=1)
        stalled = {symbol for symbol, opened in newest.items() if opened < limit}
        for symbol in stalled - self.stalled:
            log.warning("market data stalled: no new candle", symbol=str(symbol), seconds=self.stall_seconds)
        for symbol in self.stalled - stalled:
            log.info("market data back", symbol=str(symbol))
        self.stalled = stalled


def _correlation(bot_id: UUID, candle_at: datetime) -> str:
    return f"decision:{bot_id}:{candle_at:%Y%m%dT%H%M}"


def _place(bot_id: BotId, intent: Place, coid: str, cause: dict[str, str]) -> c.PlaceOrder:
    return c.PlaceOrder(
        **cause,
        bot_id=bot_id,
        client_order_id=coid,
        symbol=str(intent.symbol),
        side=intent.side.value,
        order_type=intent.order_type.value,
        quantity=intent.quantity,
        price=intent.price,
        stop_price=intent.stop_price,
        stop_loss=intent.stop_loss,
        take_profit=intent.take_profit,
    )
