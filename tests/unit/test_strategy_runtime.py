"""The strategy runtime on the embedded store, with a scripted strategy: it decides once per closed
candle, on closed candles only, records every decision (no action too) with the orders it makes
(client order ids from the candle) in one transaction, never twice for a candle, leaves paused bots
alone and resumes from the next closed candle."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from prometheus_client import CollectorRegistry

from application import commands as c
from application.metrics import NO_METRICS
from application.strategy_runtime import STRATEGY_ACTOR, StrategyRuntime
from application.strategy_runtime.ports import Decider
from domain.bot import Bot
from domain.ids import BotId, ClientOrderId, order_id_for
from domain.market import Candle
from domain.order import Order
from domain.strategy import BotView, Close, Intent, Place, Timeframe
from domain.values import OrderType, Side, Symbol
from infrastructure.candles import CandleStore
from infrastructure.metrics import Metrics
from infrastructure.read_database import create_read_engine
from infrastructure.settings import Settings
from infrastructure.strategy_leases import AllLeases
from tests.support.clock import ManualClock
from tests.support.world import ACTOR, BTC, LIMITS, World, world_on

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SMA = {"fast": 2, "slow": 3, "quantity": "0.01"}


@dataclass
class Scripted:
    """A strategy that answers from a plan, by the candle it is asked about, and notes what it saw."""

    plan: dict[datetime, list[Intent]] = field(default_factory=dict)
    timeframe: Timeframe = field(default_factory=lambda: Timeframe.parse("1m"))
    symbols: list[Symbol] = field(default_factory=lambda: [BTC])
    warmup: int = 3
    seen: list[tuple[datetime, list[datetime]]] = field(default_factory=list)

    def decide(self, candles: Mapping[Symbol, Sequence[Candle]], view: BotView) -> list[Intent]:
        self.seen.append((view.at, [candle.opened_at for candle in candles[BTC]]))
        return list(self.plan.get(view.at, []))


@dataclass
class Book:
    decider: Scripted

    def bind(self, strategy: str, params: Mapping[str, object], allowed: Sequence[Symbol]) -> Decider | None:
        return None if strategy == "manual" else self.decider


@dataclass
class Bots:
    ids: list[UUID] = field(default_factory=list)

    def running(self) -> list[UUID]:
        return list(self.ids)


@dataclass
class Setup:
    world: World
    candles: CandleStore
    scripted: Scripted
    bots: Bots
    clock: ManualClock

    def runtime(self, metrics: Metrics | None = None) -> StrategyRuntime:
        return StrategyRuntime(
            bus=self.world.bus,
            store=self.world.store,
            book=Book(self.scripted),
            candles=self.candles,
            bots=self.bots,
            leases=AllLeases(),
            markets=_Markets(),
            clock=self.clock,
            metrics=metrics or NO_METRICS,
        )

    def minutes(self, first: int, last: int, price: str = "50000") -> None:
        """One-minute candles opening at START + first .. START + last minutes."""
        value = Decimal(price)
        self.candles.write(
            [
                Candle(BTC, START + timedelta(minutes=m), value, value, value, value, Decimal(1))
                for m in range(first, last + 1)
            ]
        )
        self.clock.set(START + timedelta(minutes=last, seconds=5))

    def decisions(self, bot_id: UUID) -> list[Bot.DecisionMade]:
        return [
            e
            for e in self.world.new_events(0)
            if isinstance(e, Bot.DecisionMade) and e.originator_id == bot_id
        ]

    def placed(self, bot_id: UUID) -> list[Order.Placed]:
        return [e for e in self.world.new_events(0) if isinstance(e, Order.Placed) and e.bot_id == bot_id]


class _Markets:
    def market(self, account: str, symbol: Symbol) -> None:
        return None


@pytest.fixture
def setup(sqlite_settings: Settings) -> Iterator[Setup]:
    clock = ManualClock(START)
    with world_on(sqlite_settings, clock=clock) as world:
        world.prices.set(BTC, Decimal(50000))
        engine = create_read_engine(sqlite_settings)
        candles = CandleStore(engine)
        candles.install()
        try:
            yield Setup(world, candles, Scripted(), Bots(), clock)
        finally:
            engine.dispose()


def _bot(setup: Setup) -> UUID:
    world = setup.world
    created = world.bus.dispatch(
        c.CreateBot(
            actor=ACTOR,
            name="sma",
            strategy="sma_cross",
            params=SMA,
            allowed_symbols=["BTC/USDT"],
            limits=LIMITS,
            exchange_account="paper",
        )
    )
    world.bus.dispatch(c.StartBot(actor=ACTOR, bot_id=created.aggregate_id))
    setup.bots.ids.append(created.aggregate_id)
    return created.aggregate_id


def test_it_decides_once_per_closed_candle_on_closed_candles_only(setup: Setup) -> None:
    bot_id = _bot(setup)
    runtime = setup.runtime()
    setup.minutes(0, 3)  # 12:00..12:03; 12:03 is in progress, so 12:00..12:02 are closed
    assert runtime.turn() == 1
    closed_at = START + timedelta(minutes=3)
    assert setup.scripted.seen == [
        (closed_at, [START, START + timedelta(minutes=1), START + timedelta(minutes=2)])
    ]
    assert runtime.turn() == 0  # nothing new closed: no second call
    setup.minutes(4, 4)
    assert runtime.turn() == 1
    assert [d.candle_at for d in setup.decisions(bot_id)] == [closed_at, closed_at + timedelta(minutes=1)]
    for at, window in setup.scripted.seen:
        assert all(opened < at for opened in window)  # never a candle that had not closed


def test_every_decision_is_recorded_and_its_intents_placed_from_the_candle(setup: Setup) -> None:
    bot_id = _bot(setup)
    closed_at = START + timedelta(minutes=3)
    setup.scripted.plan[closed_at] = [Place(BTC, Side.BUY, Decimal("0.01"))]
    runtime = setup.runtime()
    setup.minutes(0, 3)
    runtime.turn()
    setup.minutes(4, 4)
    runtime.turn()  # no action: recorded too
    first, second = setup.decisions(bot_id)
    assert first.intents == [
        {"intent": "place", "symbol": "BTC/USDT", "side": "buy", "order_type": "market", "quantity": "0.01"}
    ]
    assert second.intents == [] and second.strategy == "sma_cross" and first.params_hash == second.params_hash
    [placed] = setup.placed(bot_id)
    assert placed.request.client_order_id == "s-20261201T1203-0"
    assert placed.meta.actor == STRATEGY_ACTOR and placed.meta.causation_id == "candle:20261201T1203"
    assert first.meta.correlation_id == placed.meta.correlation_id


def test_a_decision_and_its_orders_are_one_transaction_recorded_once_per_candle(setup: Setup) -> None:
    bot_id = _bot(setup)
    closed_at = START + timedelta(minutes=3)
    setup.scripted.plan[closed_at] = [Place(BTC, Side.BUY, Decimal("0.01"))]
    setup.minutes(0, 3)
    before = setup.world.store.last_position()
    setup.runtime().turn()
    setup.runtime().turn()  # a restarted runtime, or a second one: the candle is decided
    events = setup.world.new_events(before)
    names = [type(e).__qualname__ for e in events]
    assert names == ["Bot.DecisionMade", "Bot.OrderAdmitted", "Order.Placed"]  # one save, in this order
    assert len(setup.placed(bot_id)) == 1 and len(setup.decisions(bot_id)) == 1
    assert len(setup.scripted.seen) == 1  # the second runtime did not ask the strategy again


def test_a_denied_order_is_recorded_with_the_decision(setup: Setup) -> None:
    bot_id = _bot(setup)
    closed_at = START + timedelta(minutes=3)
    setup.scripted.plan[closed_at] = [Place(BTC, Side.BUY, Decimal("1000"))]  # past every limit
    setup.minutes(0, 3)
    setup.runtime().turn()
    [decision] = setup.decisions(bot_id)
    denials = [e for e in setup.world.new_events(0) if isinstance(e, Bot.OrderDenied)]
    assert decision.intents[0]["quantity"] == "1000" and setup.placed(bot_id) == []
    assert [d.request.client_order_id for d in denials] == ["s-20261201T1203-0"]


def test_decisions_are_counted_by_strategy_and_kind_and_denied_orders_by_reason(setup: Setup) -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    setup.world.bus.metrics = metrics
    _bot(setup)
    closed_at = START + timedelta(minutes=3)
    setup.scripted.plan[closed_at] = [Place(BTC, Side.BUY, Decimal("1000"))]  # past every limit
    runtime = setup.runtime(metrics)
    setup.minutes(0, 3)
    runtime.turn()
    setup.minutes(4, 4)
    runtime.turn()  # no action
    runtime.turn()  # nothing new closed: no decision

    def decisions(decision: str) -> float | None:
        return registry.get_sample_value(
            "tbot_strategy_decisions_total", {"strategy": "sma_cross", "decision": decision}
        )

    assert (decisions("act"), decisions("hold")) == (1, 1)
    assert registry.get_sample_value("tbot_risk_denials_total", {"reason": "MAX_ORDER_NOTIONAL"}) == 1
    assert (
        registry.get_sample_value("tbot_commands_total", {"command": "RecordDecision", "outcome": "ok"}) == 2
    )


def test_a_paused_bot_gets_no_call_and_resumes_from_the_next_closed_candle(setup: Setup) -> None:
    bot_id = _bot(setup)
    runtime = setup.runtime()
    setup.minutes(0, 3)
    runtime.turn()
    setup.world.bus.dispatch(c.PauseBot(actor=ACTOR, bot_id=bot_id))
    setup.minutes(4, 6)
    assert runtime.turn() == 0
    setup.world.bus.dispatch(c.ResumeBot(actor=ACTOR, bot_id=bot_id))
    runtime.turn()
    assert [d.candle_at for d in setup.decisions(bot_id)] == [
        START + timedelta(minutes=3),
        START + timedelta(minutes=6),  # the latest closed candle, not the ones missed meanwhile
    ]


def test_a_close_becomes_a_market_order_for_the_position(setup: Setup) -> None:
    bot_id = _bot(setup)
    world = setup.world
    order = world.place(bot_id, "hand", "buy", "0.03")
    world.accept(order)
    world.fill(order, "t-1", "0.03", "50000")
    setup.scripted.plan[START + timedelta(minutes=3)] = [Close(BTC)]
    setup.minutes(0, 3)
    setup.runtime().turn()
    closing = [p for p in setup.placed(bot_id) if p.request.client_order_id.startswith("s-")]
    assert [(p.request.side, p.request.order_type, p.request.quantity) for p in closing] == [
        (Side.SELL, OrderType.MARKET, Decimal("0.03"))
    ]
    assert order_id_for(BotId(bot_id), ClientOrderId("s-20261201T1203-0")) == closing[0].originator_id


def test_without_warm_up_history_no_decision_is_made(setup: Setup) -> None:
    bot_id = _bot(setup)
    setup.minutes(0, 2)  # two closed candles; the strategy asks for three
    assert setup.runtime().turn() == 0
    assert setup.decisions(bot_id) == [] and setup.scripted.seen == []


def test_a_bot_whose_strategy_never_trades_is_not_asked(setup: Setup) -> None:
    world = setup.world
    manual = world.bus.dispatch(
        c.CreateBot(
            actor=ACTOR, name="by hand", strategy="manual", allowed_symbols=["BTC/USDT"], limits=LIMITS
        )
    ).aggregate_id
    world.bus.dispatch(c.StartBot(actor=ACTOR, bot_id=manual))
    setup.bots.ids.append(manual)
    setup.minutes(0, 3)
    assert setup.runtime().turn() == 0 and setup.decisions(manual) == []


def test_market_data_that_stopped_is_reported_and_nothing_is_made_up(setup: Setup) -> None:
    bot_id = _bot(setup)
    runtime = setup.runtime()
    setup.minutes(0, 3)
    runtime.turn()
    setup.clock.set(START + timedelta(minutes=10))
    assert runtime.turn() == 0 and runtime.stalled == {BTC}
    assert len(setup.decisions(bot_id)) == 1
    setup.minutes(4, 10)
    runtime.turn()
    assert runtime.stalled == set()
