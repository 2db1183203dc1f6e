"""The Bot aggregate: lifecycle, limits, kill switch, and the risk ledger that decides new orders."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast
from uuid import UUID

from domain.aggregate import TradingAggregate
from domain.errors import IllegalTransition, InvalidInput
from domain.ids import BotId, ClientOrderId, DenialId, OrderId, UserId
from domain.orders import OrderRequest
from domain.params import check_params, check_text
from domain.risk import RATE_WINDOW, Exposure, ReasonCode, RiskContext, RiskLimits
from domain.values import MarketSpec, Side, Stamp, Symbol

RECENT_DENIALS_KEPT = 256
LEDGER = frozenset({"positions", "open_orders", "recent_orders", "recent_denials"})
"""The bot's containers that grow with its trading; their entries are frozen values, never changed."""
MAX_REASON_LENGTH = 500
"""Why a kill switch was tripped or reset, as free text."""
MAX_NAME_LENGTH = 100
"""The longest name, strategy or exchange account reference a bot may have."""


class BotStatus(Enum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class BotAction(Enum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


# (from, action) -> to. Anything not listed is illegal.
LIFECYCLE: dict[tuple[BotStatus, BotAction], BotStatus] = {
    (BotStatus.CREATED, BotAction.START): BotStatus.RUNNING,
    (BotStatus.STOPPED, BotAction.START): BotStatus.RUNNING,
    (BotStatus.RUNNING, BotAction.PAUSE): BotStatus.PAUSED,
    (BotStatus.PAUSED, BotAction.RESUME): BotStatus.RUNNING,
    (BotStatus.CREATED, BotAction.STOP): BotStatus.STOPPED,
    (BotStatus.RUNNING, BotAction.STOP): BotStatus.STOPPED,
    (BotStatus.PAUSED, BotAction.STOP): BotStatus.STOPPED,
}


@dataclass(frozen=True)
class OpenOrder:
    """What the ledger keeps of an open order: enough to compute committed exposure."""

    symbol: str
    side: Side
    remaining: Decimal


@dataclass(frozen=True)
class Denial:
    denial_id: DenialId
    reason_codes: list[ReasonCode]


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


class Bot(TradingAggregate):
    """The risk boundary: every order is decided here, and every decision is an event."""

    # a bot restored from a snapshot taken before its strategy decided anything
    decided_through: datetime | None = None

    class Created(TradingAggregate.Created):
        owner: UserId
        name: str
        strategy: str
        params: dict[str, Any]
        exchange_account: str
        allowed_symbols: list[str]
        limits: RiskLimits

        def apply(self, aggregate: Any) -> None:
            cast(Bot, aggregate)._begin(self)

    class StatusChanged(TradingAggregate.Event):
        """Base of the lifecycle events; ``status`` is where the bot is afterwards."""

        status: BotStatus

        def apply(self, aggregate: Any) -> None:
            cast(Bot, aggregate).status = self.status

    class Started(StatusChanged):
        pass

    class Paused(StatusChanged):
        pass

    class Resumed(StatusChanged):
        pass

    class Stopped(StatusChanged):
        pass

    class RiskLimitsUpdated(TradingAggregate.Event):
        limits: RiskLimits

        def apply(self, aggregate: Any) -> None:
            cast(Bot, aggregate).limits = self.limits

    class KillSwitchTripped(TradingAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            cast(Bot, aggregate).kill_switch_reason = self.reason

    class KillSwitchReset(TradingAggregate.Event):
        """Orders may grow positions again; ``reason`` is why (None in events stored before
        resets carried one)."""

        class_version = 2
        reason: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reason"] = None

        def apply(self, aggregate: Any) -> None:
            cast(Bot, aggregate).kill_switch_reason = None

    class OrderAdmitted(TradingAggregate.Event):
        """The risk policy said yes: the order's quantity is now committed. ``reference_price``
        is the price the rules judged it at (None in events stored before it was recorded)."""

        class_version = 2
        order_id: OrderId
        request: OrderRequest
        reference_price: Decimal | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reference_price"] = None

        def apply(self, aggregate: Any) -> None:
            bot = cast(Bot, aggregate)
            request = self.request
            bot.open_orders[self.order_id.hex] = OpenOrder(
                str(request.symbol), request.side, request.quantity
            )
            window_start = self.timestamp - RATE_WINDOW
            bot.recent_orders = [t for t in bot.recent_orders if t > window_start] + [self.timestamp]

    class OrderDenied(TradingAggregate.Event):
        """The risk policy said no; the request and every reason are kept for audit."""

        denial_id: DenialId
        request: OrderRequest
        reason_codes: list[ReasonCode]
        reference_price: Decimal | None

        def apply(self, aggregate: Any) -> None:
            bot = cast(Bot, aggregate)
            denials = bot.recent_denials
            denials[self.request.client_order_id] = Denial(self.denial_id, list(self.reason_codes))
            while len(denials) > RECENT_DENIALS_KEPT:
                del denials[next(iter(denials))]

    class FillBooked(TradingAggregate.Event):
        """A fill of one of the bot's orders moved its position and its PnL for the day."""

        order_id: OrderId
        symbol: str
        signed_quantity: Decimal
        realized_pnl: Decimal

        def apply(self, aggregate: Any) -> None:
            bot = cast(Bot, aggregate)
            bot.positions[self.symbol] = bot.positions.get(self.symbol, Decimal(0)) + self.signed_quantity
            key = self.order_id.hex
            entry = bot.open_orders.get(key)
            if entry is not None:
                remaining = entry.remaining - abs(self.signed_quantity)
                if remaining > 0:
                    bot.open_orders[key] = OpenOrder(entry.symbol, entry.side, remaining)
                else:
                    del bot.open_orders[key]
            day = _utc_day(self.timestamp)
            if bot.pnl_day != day:
                bot.pnl_day, bot.realized_today = day, Decimal(0)
            bot.realized_today += self.realized_pnl

    class StrategyParamsChanged(TradingAggregate.Event):
        """The strategy's parameters from now on, as its params model took them."""

        params: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            cast(Bot, aggregate).params = dict(self.params)

    class DecisionMade(TradingAggregate.Event):
        """What the strategy decided on the candle of ``timeframe`` that closed at ``candle_at``,
        with which parameters (``params_hash``): ``intents`` as plain values (empty: no action).
        Recorded with the orders the intents make (client order ids derived from ``candle_at``
        and each intent's index), in one transaction."""

        strategy: str
        timeframe: str
        candle_at: datetime
        params_hash: str
        intents: list[dict[str, Any]]

        def apply(self, aggregate: Any) -> None:
            cast(Bot, aggregate).decided_through = self.candle_at

    class OrderReleased(TradingAggregate.Event):
        """An order ended unfilled or part filled: what was left of it is no longer committed."""

        order_id: OrderId
        final_status: str

        def apply(self, aggregate: Any) -> None:
            cast(Bot, aggregate).open_orders.pop(self.order_id.hex, None)

    def _begin(self, created: Bot.Created) -> None:
        """The bot's state, as it is created; the events above change it."""
        self.owner: UserId = created.owner
        self.name: str = created.name
        self.strategy: str = created.strategy
        self.params: dict[str, Any] = dict(created.params)
        self.exchange_account: str = created.exchange_account
        self.allowed_symbols: list[str] = list(created.allowed_symbols)
        self.limits: RiskLimits = created.limits
        self.status: BotStatus = BotStatus.CREATED
        self.kill_switch_reason: str | None = None
        self.positions: dict[str, Decimal] = {}
        self.open_orders: dict[str, OpenOrder] = {}
        self.realized_today: Decimal = Decimal(0)
        self.pnl_day: date | None = None
        self.recent_orders: list[datetime] = []
        self.recent_denials: dict[str, Denial] = {}
        self.decided_through = None  # the close of the latest candle the strategy decided on

    @staticmethod
    def creation_fields(
        name: object, strategy: object, params: object, exchange_account: object
    ) -> dict[str, Any]:
        """A new bot's free-form fields as they are recorded (texts stripped), or InvalidInput
        naming the first field that breaks its rule; what a repeated creation is compared by."""
        return {
            "name": check_text(name, "name", MAX_NAME_LENGTH),
            "strategy": check_text(strategy, "strategy", MAX_NAME_LENGTH),
            "params": check_params(params),
            "exchange_account": check_text(exchange_account, "exchange_account", MAX_NAME_LENGTH),
        }

    @classmethod
    def create(
        cls,
        bot_id: BotId,
        owner: UserId,
        name: str,
        strategy: str,
        params: dict[str, Any],
        exchange_account: str,
        allowed_symbols: list[Symbol],
        limits: RiskLimits,
        stamp: Stamp,
    ) -> Bot:
        """A new bot. Its free-form fields are recorded for good and projected into every read
        model, so they must follow the rules of ``domain.params``; InvalidInput names the field."""
        fields = cls.creation_fields(name, strategy, params, exchange_account)
        if not allowed_symbols:
            raise InvalidInput("allowed_symbols", "must list at least one symbol")
        return cls._create(
            cls.Created,
            id=bot_id,
            timestamp=stamp.at,
            meta=stamp.meta,
            owner=owner,
            **fields,
            allowed_symbols=sorted({str(s) for s in allowed_symbols}),
            limits=limits,
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> Bot:
        """A copy to change: the ledger's containers are copied, their frozen entries shared.

        Every command copies the bot it loads, and a busy bot's ledger holds thousands of open
        orders and recent order times; copying each entry made every command on it slower as its
        backlog grew. Events only add, replace or remove entries, so sharing them is safe."""
        copied = object.__new__(type(self))
        memo[id(self)] = copied
        copied.__dict__.update(
            {
                name: value.copy() if name in LEDGER else deepcopy(value, memo)
                for name, value in self.__dict__.items()
            }
        )
        return copied

    @property
    def bot_id(self) -> BotId:
        return BotId(self.id)

    @property
    def kill_switch(self) -> bool:
        return self.kill_switch_reason is not None

    # Lifecycle -----------------------------------------------------------------------------

    def _move(self, action: BotAction, event_class: type[StatusChanged], stamp: Stamp) -> None:
        target = LIFECYCLE.get((self.status, action))
        if target is None:
            raise IllegalTransition("bot", self.status.value, action.value)
        self._emit(event_class, stamp, status=target)

    def start(self, stamp: Stamp) -> None:
        self._move(BotAction.START, self.Started, stamp)

    def pause(self, stamp: Stamp) -> None:
        self._move(BotAction.PAUSE, self.Paused, stamp)

    def resume(self, stamp: Stamp) -> None:
        self._move(BotAction.RESUME, self.Resumed, stamp)

    def stop(self, stamp: Stamp) -> None:
        self._move(BotAction.STOP, self.Stopped, stamp)

    def update_limits(self, limits: RiskLimits, stamp: Stamp) -> None:
        self._emit(self.RiskLimitsUpdated, stamp, limits=limits)

    def trip_kill_switch(self, reason: str, stamp: Stamp) -> bool:
        """Halts every order that could grow or flip a position (see ``risk.kill_switch``); the
        caller cancels the open orders. Tripping a tripped switch changes nothing: False."""
        text = check_text(reason, "reason", MAX_REASON_LENGTH)
        if self.kill_switch:
            return False
        self._emit(self.KillSwitchTripped, stamp, reason=text)
        return True

    def reset_kill_switch(self, reason: str, stamp: Stamp) -> bool:
        """The only way to turn the switch off (stopping and starting the bot leaves it on).
        Resetting a switch that is not on changes nothing: False."""
        text = check_text(reason, "reason", MAX_REASON_LENGTH)
        if not self.kill_switch:
            return False
        self._emit(self.KillSwitchReset, stamp, reason=text)
        return True

    # Strategy ------------------------------------------------------------------------------

    def change_params(self, params: dict[str, Any], stamp: Stamp) -> bool:
        """``params`` as the strategy's model took them (checked by the caller against the
        strategy). The same params again change nothing: False."""
        checked = check_params(params)
        if checked == self.params:
            return False
        self._emit(self.StrategyParamsChanged, stamp, params=checked)
        return True

    def record_decision(
        self,
        timeframe: str,
        candle_at: datetime,
        params_hash: str,
        intents: list[dict[str, Any]],
        stamp: Stamp,
    ) -> bool:
        """Records the strategy's decision on a closed candle (the caller records the orders it
        makes with it). Only a running bot decides; a decision on a candle no later than the last
        one decided changes nothing (False): a restarted or second runtime finds it decided."""
        if self.status is not BotStatus.RUNNING:
            raise IllegalTransition("bot", self.status.value, "decide")
        if self.decided_through is not None and candle_at <= self.decided_through:
            return False
        self._emit(
            self.DecisionMade,
            stamp,
            strategy=self.strategy,
            timeframe=timeframe,
            candle_at=candle_at,
            params_hash=params_hash,
            intents=check_params({"intents": intents})["intents"],
        )
        return True

    # Risk ledger -----------------------------------------------------------------------------

    def exposure(self, symbol: Symbol) -> Exposure:
        key = str(symbol)
        open_buy = open_sell = Decimal(0)
        for entry in self.open_orders.values():
            if entry.symbol == key:
                if entry.side is Side.BUY:
                    open_buy += entry.remaining
                else:
                    open_sell += entry.remaining
        return Exposure(self.positions.get(key, Decimal(0)), open_buy, open_sell)

    def open_order_ids(self) -> list[OrderId]:
        """The orders whose remaining quantity is still committed, in the order admitted."""
        return [OrderId(UUID(hex=key)) for key in self.open_orders]

    def realized_on(self, day: date) -> Decimal:
        return self.realized_today if self.pnl_day == day else Decimal(0)

    def risk_context(
        self,
        request: OrderRequest,
        market: MarketSpec | None,
        reference_price: Decimal | None,
        now: datetime,
    ) -> RiskContext:
        return RiskContext(
            request=request,
            running=self.status is BotStatus.RUNNING,
            kill_switch=self.kill_switch,
            allowed_symbols=frozenset(self.allowed_symbols),
            limits=self.limits,
            market=market,
            reference_price=reference_price,
            exposure=self.exposure(request.symbol),
            open_orders=len(self.open_orders),
            realized_today=self.realized_on(_utc_day(now)),
            recent_orders=tuple(self.recent_orders),
            now=now,
        )

    def earlier_denial(self, coid: ClientOrderId) -> Denial | None:
        """The denial already recorded for this client order id, if it is still remembered."""
        return self.recent_denials.get(coid)

    def admit_order(
        self, order_id: OrderId, request: OrderRequest, reference_price: Decimal | None, stamp: Stamp
    ) -> None:
        self._emit(
            self.OrderAdmitted, stamp, order_id=order_id, request=request, reference_price=reference_price
        )

    def deny_order(
        self,
        denial_id: DenialId,
        request: OrderRequest,
        reason_codes: list[ReasonCode],
        reference_price: Decimal | None,
        stamp: Stamp,
    ) -> None:
        if not reason_codes:
            raise ValueError("a denial needs at least one reason code")
        self._emit(
            self.OrderDenied,
            stamp,
            denial_id=denial_id,
            request=request,
            reason_codes=list(reason_codes),
            reference_price=reference_price,
        )

    def book_fill(
        self,
        order_id: OrderId,
        symbol: Symbol,
        signed_quantity: Decimal,
        realized_pnl: Decimal,
        stamp: Stamp,
    ) -> bool:
        """Moves the ledger by a fill; trips the kill switch when the day's loss reaches the limit
        (True then: the caller cancels the open orders, as for a trip by hand)."""
        self._emit(
            self.FillBooked,
            stamp,
            order_id=order_id,
            symbol=str(symbol),
            signed_quantity=signed_quantity,
            realized_pnl=realized_pnl,
        )
        if not self.kill_switch and self.realized_today <= -self.limits.daily_loss_limit:
            self._emit(self.KillSwitchTripped, stamp, reason=ReasonCode.DAILY_LOSS_LIMIT.value)
            return True
        return False

    def release_order(self, order_id: OrderId, final_status: str, stamp: Stamp) -> None:
        if order_id.hex in self.open_orders:
            self._emit(self.OrderReleased, stamp, order_id=order_id, final_status=final_status)
