"""One backtest from its inputs to its results: what the command line, the optimiser and the
API's backtest worker each run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import get_topic

from application.backtest.results import Outcome, outcome
from domain.bot import Bot
from domain.order import Order
from domain.performance import Performance
from domain.position import Position
from interfaces.backtest.report import performance
from interfaces.backtest.world import BacktestInputs, backtest_on

OUTCOME_TOPICS = frozenset(
    map(get_topic, (Position.FillApplied, Bot.DecisionMade, Order.Placed, Bot.OrderDenied, Order.Rejected))
)
"""The events ``outcome`` reads; the log's others (most of it) are not decoded."""


@dataclass(frozen=True)
class BacktestResult:
    outcome: Outcome
    performance: Performance
    params: dict[str, Any]  # as the strategy took them, defaults filled in


def run_backtest(inputs: BacktestInputs, progress: Callable[[int], None] | None = None) -> BacktestResult:
    """Runs the backtest; ``progress`` is told how many candles are done as it goes."""
    with backtest_on(inputs) as world:
        world.backtest.run(progress)
        stored = world.store.recorder.select_notifications(1, 10**9)
        decode = world.store.mapper.to_domain_event
        log = [decode(notification) for notification in stored if notification.topic in OUTCOME_TOPICS]
        params = dict(world.store.load(Bot, world.bot_id).params)
        bot_id = world.bot_id
    result = outcome(log, bot_id, inputs.candles, inputs.cash)
    candles = next(iter(inputs.candles.values()))
    return BacktestResult(result, performance(result, candles), params)
