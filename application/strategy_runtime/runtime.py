"""Calls each running bot's strategy once per closed candle of its timeframe, and carries out what
it decides through the command bus, as any other command (risk-checked, recorded).

For a bot it holds the lease of, a turn finds the latest candle of the bot's timeframe that has
closed on all its symbols (a candle is closed once a later one-minute candle exists: the runtime
never decides on a candle still in progress, and never makes one up). If the bot has not decided
on it yet, the strategy gets the closed candles it asked for (its warm-up, resampled from the
stored one-minute candles, none after the candle) and the bot's view, and returns intents. The
runtime makes them concrete (a close becomes a market order for the position, quantities are
rounded down to the market's step) and records the decision on the bot (``Bot.DecisionMade``, every
decision, no action included) together with its orders, in one transaction (``RecordDecision``:
each order risk-checked as ``PlaceOrder`` would, with a client order id derived from the candle
and the intent's index). A decision is there with its orders or not at all, and a bot decides once
per candle: a restarted runtime, or a second one racing it, finds the candle decided and records
nothing. Only the latest closed candle is decided on: a bot resumed, or a runtime back after an
outage, carries on from the next closed candle rather than trading on stale ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog

from application import commands as c
from application.bus import CommandBus
from application.errors import IllegalTransition, NotFound
from application.metrics import NO_METRICS, DecisionMetrics
from application.ports import Clock, MarketRules
from application.store import TradingApplication
from application.strategy_runtime.ports import BotLeases, CandleHistory, Decider, StrategyBook, StrategyBots
from domain.bot import Bot, BotStatus
from domain.errors import InvalidInput
from domain.ids import position_id_for
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
    resample,
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
        concurrency: int = 8,
        metrics: DecisionMetrics = NO_METRICS,
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
        self.metrics = metrics
        self._pool = (
            ThreadPoolExecutor(concurrency, thread_name_prefix="strategy") if concurrency > 1 else None
        )
        self.held: set[UUID] = set()
        self.stalled: set[Symbol] = set()
        """Symbols whose market data stopped: no new candle for ``stall_seconds``."""
        self._bound: dict[UUID, _Bound] = {}
        self._waiting: dict[UUID, str] = {}  # why a bot could not decide yet, logged once

    def turn(self) -> int:
        """One look at every bot this runtime holds; returns the decisions recorded."""
        self.held = self.leases.claim(self.bots.running())
        for gone in set(self._bound) - self.held:
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
        # bots decide side by side (each command takes its bot's turn; the writes queue at the
        # store), so one slow bot does not hold the others up
        decide = lambda pair: self._guarded(pair[0], pair[1], newest, windows)  # noqa: E731
        return sum(self._pool.map(decide, bots) if self._pool is not None else map(decide, bots))

    def _guarded(
        self,
        bot: Bot,
        decider: Decider,
        newest: Mapping[Symbol, datetime],
        windows: dict[tuple[Symbol, datetime, int], list[Candle]],
    ) -> int:
        try:
            return self._run(bot, decider, newest, windows)
        except (InvalidInput, IllegalTransition, NotFound) as error:
            self._wait(bot.id, f"cannot decide: {error}")
            return 0

    def close(self) -> None:
        """Stops the threads bots decide in (the runtime is done)."""
        if self._pool is not None:
            self._pool.shutdown()

    def release(self) -> None:
        """Lets go of every lease (the runtime stops or lost its store)."""
        self.leases.release_all()
        self.held = set()

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
        if bot.decided_through is not None and candle_at <= bot.decided_through:
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
        # enough minutes for the warm-up, and a whole first candle of a longer timeframe
        minutes = (decider.warmup + 1) * decider.timeframe.minutes
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
                causation_id=f"candle:{candle_at:%Y%m%dT%H%M}",
                bot_id=bot.id,
                timeframe=decider.timeframe.name,
                candle_at=candle_at,
                params_hash=params_hash(bot.params),
                intents=plain,
            )
        )
        if not ack.changed:  # another runtime decided on this candle first
            return 0
        log.info("decided", bot_id=str(bot.id), candle_at=candle_at.isoformat(), intents=plain)
        self.metrics.decided(bot.strategy, acted=bool(plain))
        for client_order_id, reasons in ack.denied:  # recorded on the bot with its reasons
            log.info("order denied", bot_id=str(bot.id), order=client_order_id, reasons=list(reasons))
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
        return quantity if spec is None else spec.round_down(quantity)

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
