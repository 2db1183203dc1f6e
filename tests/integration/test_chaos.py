"""Nothing is lost when processes die under load. The five processes (`serve`, `projections run`,
`execution run`, `marketdata run`, `protection run`) run on PostgreSQL and Redis with paper
accounts filling in parts; careful clients place and cancel orders over HTTP for a minute,
retrying unchanged after timeouts and lost connections, while one process after another is
SIGKILLed and restarted (every 1.5 to 6 s, seeded). Then the load stops, open orders are
cancelled, everything settles, and the stores are checked: every acknowledged order is there,
each order's fills are the exchange's trades, the exchange got each order once, positions equal
an independent reference, nothing is overfilled, `tbot audit verify` passes, no process ended by
itself and no request was answered 5xx."""

from __future__ import annotations

import random
import time
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from infrastructure.paper_exchange import PaperSettings
from infrastructure.settings import Settings
from tests.support import chaos_checks as checks
from tests.support.chaos_fleet import Fleet
from tests.support.chaos_load import Tally
from tests.support.execution import BALANCES as EXECUTION_BALANCES
from tests.support.execution import scratch_execution
from tests.support.system_run import SEED, System, failure_report, settle_and_check, system_on
from tests.support.world import BTC

LOAD_SECONDS = 60.0
KILL_PAUSE = (1.5, 6.0)  # seconds between two kills, drawn from the seeded generator
MIN_ORDERS = 50  # acknowledged, or the run tested nothing


def _chaos(fleet: Fleet, seconds: float) -> None:
    """Kills one process after another, at seeded random moments, until ``seconds`` are over: each
    round of five kills takes every process once, in a seeded order."""
    rng = random.Random(SEED)
    end = time.monotonic() + seconds
    victims: list[str] = []
    while True:
        pause = rng.uniform(*KILL_PAUSE)
        if time.monotonic() + pause > end:
            time.sleep(max(0.0, end - time.monotonic()))
            return
        time.sleep(pause)
        if not victims:
            victims = rng.sample(sorted(fleet.members), len(fleet.members))
        fleet.kill_and_restart(victims.pop())


def _summary(tally: Tally, system: System, orders: dict[UUID, checks.RecordedOrder]) -> str:
    fleet = system.fleet
    kills = {m.name: m.kills for m in fleet.members.values()}
    fills = sum(len(o.fills) for o in orders.values())
    errors = dict(fleet.errors().most_common())
    by_protection = sum(o.placed.meta.actor == "system:protection" for o in orders.values())
    times = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in system.phases.items())
    return (
        f"chaos: {len(tally.placed)} orders acknowledged ({len(orders)} in the store, {by_protection} "
        f"placed by protection), {len(tally.cancelled)} cancels acknowledged, {fills} fills, "
        f"{sum(kills.values())} kills {kills}, {tally.retries} retries, {tally.repeats} deliberate "
        f"repeats, {len(tally.given_up)} requests given up; answers {dict(sorted(tally.statuses.items()))}; "
        f"error log lines {errors}; {times}; logs in {fleet.log_dir}"
    )


@pytest.mark.postgres
@pytest.mark.redis
def test_nothing_is_lost_when_processes_are_killed_under_load(
    postgres_redis_settings: Settings, tmp_path: Path
) -> None:
    with system_on(postgres_redis_settings, tmp_path) as system:
        load = system.load()
        load.start()
        _chaos(system.fleet, LOAD_SECONDS)
        tally = load.stop()
        system.phase("load")
        findings = settle_and_check(system, tally, load)
        orders = checks.recorded_orders(system.store)
        findings["the run did what it is for"] = _activity(tally, system.fleet, orders)
        print(_summary(tally, system, orders))
    assert not any(findings.values()), failure_report(system.fleet, findings)


def _activity(tally: Tally, fleet: Fleet, orders: dict[UUID, checks.RecordedOrder]) -> list[str]:
    """A run whose load never got through, or that killed nothing, proves nothing."""
    findings = [f"{m.name} was never killed" for m in fleet.members.values() if not m.kills]
    if len(tally.placed) < MIN_ORDERS:
        findings.append(f"only {len(tally.placed)} orders were acknowledged, fewer than {MIN_ORDERS}")
    if not any(o.fills for o in orders.values()):
        findings.append("no order was filled")
    return findings


def test_the_checks_see_a_trade_that_was_never_recorded() -> None:
    """The checks are not blind: an exchange fill that execution never heard of shows as a trade
    never recorded, a position short of the exchange, and an order still open."""
    with scratch_execution() as execution:
        world = execution.world
        bot = world.running_bot()
        world.place(bot, "market", "buy", "0.01")
        resting = world.place(bot, "resting", "buy", "0.01", price="49900")
        execution.cycle()
        engine = execution.container.read_engine()
        paper = PaperSettings(slippage_bps=Decimal(10))

        def found() -> list[str]:
            store, orders = world.store, checks.recorded_orders(world.store)
            exchange = checks.rebuilt_exchange(engine, EXECUTION_BALANCES, paper)
            return [
                *checks.fills_match_trades(store, orders, exchange),
                *checks.single_submissions(orders, exchange),
                *checks.positions_match(store, orders, exchange),
            ]

        assert found() == []
        execution.prices.set(BTC, Decimal("49800"))
        execution.run(execution.accounts.follow_prices())  # the exchange fills it; nobody records it
        [missing, short] = found()
        assert f"order {resting}: exchange trades" in missing and "were never recorded" in missing
        assert "holds 0.01, the exchange traded 0.02" in short
        assert checks.unsettled_orders(world.store, [resting]) == [resting]
