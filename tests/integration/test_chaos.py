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

import json
import random
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from dependency_injector import providers

from infrastructure.event_store import open_store
from infrastructure.paper_exchange import PaperSettings
from infrastructure.settings import Settings
from interfaces.http.container import HttpContainer
from interfaces.read_side import ReadSideContainer
from tests.support import chaos_checks as checks
from tests.support.api import answers, free_port
from tests.support.chaos_fleet import Fleet
from tests.support.chaos_load import Client, Load, Tally
from tests.support.execution import BALANCES as EXECUTION_BALANCES
from tests.support.execution import scratch_execution
from tests.support.processes import settings_env, tbot
from tests.support.world import BTC

SEED = 20_260_101
LOAD_SECONDS = 60.0
KILL_PAUSE = (1.5, 6.0)  # seconds between two kills, drawn from the seeded generator
SETTLE_SECONDS = 40.0
MIN_ORDERS = 50  # acknowledged, or the run tested nothing
BALANCES = {"USDT": Decimal(10_000_000), "BTC": Decimal(1000), "ETH": Decimal(20_000)}
PAPER = PaperSettings(partial_fills=True, seed=SEED)
LIMITS = {
    "max_order_notional": "20000",
    "max_position_notional": "1000000",
    "max_open_orders": 200,
    "daily_loss_limit": "1000000",
    "price_band_pct": "0.05",
    "max_orders_per_minute": 100_000,
    "stop_loss_fraction": "0.004",  # the walk reaches these within the minute: protection acts
    "take_profit_fraction": "0.004",
}
ENV = {
    "TBOT_REFERENCE_PRICES": '{"BTC/USDT": "50000", "ETH/USDT": "2500"}',
    "TBOT_MARKETDATA_SYMBOLS": '["BTC/USDT", "ETH/USDT"]',
    "TBOT_MARKETDATA_SEED": str(SEED),
    "TBOT_MARKETDATA_INTERVAL_SECONDS": "0.25",
    "TBOT_PAPER_BALANCES": json.dumps({k: str(v) for k, v in BALANCES.items()}),
    "TBOT_PAPER_PARTIAL_FILLS": "true",
    "TBOT_PAPER_SEED": str(SEED),
    "TBOT_EXECUTION_POLL_SECONDS": "0.2",
    "TBOT_EXECUTION_SETTLE_SECONDS": "3",  # a paper order not in the journal never arrived
    "TBOT_PROJECTION_POLL_SECONDS": "0.2",
    "TBOT_PROTECTION_POLL_SECONDS": "0.5",
    "TBOT_RATE_LIMIT_PER_SECOND": "100000",
    "TBOT_LOG_FORMAT": "json",
}
USERS = {"alice": ["paper:alice", "paper:alice"], "bob": ["paper:bob"]}  # each user's bots' accounts
SYMBOLS = [["BTC/USDT", "ETH/USDT"], ["BTC/USDT"], ["BTC/USDT", "ETH/USDT"]]
CLIENTS = ["alice", "alice", "bob", "bob"]
PASSWORD = "correct horse battery staple"
WORKERS = ["projections", "execution", "marketdata", "protection"]


def _keys(settings: Settings) -> dict[str, str]:
    container = HttpContainer()
    container.settings.override(providers.Object(settings))
    identity = container.identity()
    keys = {}
    for user in USERS:
        identity.create_user(user, "trader", PASSWORD)
        keys[user] = identity.create_key(user)
    container.read_engine().dispose()
    return keys


def _bots(base_url: str, keys: dict[str, str]) -> dict[str, list[tuple[str, list[str]]]]:
    """Each user's running bots, with the symbols each trades."""
    bots: dict[str, list[tuple[str, list[str]]]] = {}
    symbols = iter(SYMBOLS)
    for user, accounts in USERS.items():
        with httpx.Client(base_url=base_url, headers={"X-API-Key": keys[user]}, timeout=30) as http:
            for number, account in enumerate(accounts):
                allowed = next(symbols)
                body = {
                    "name": f"{user}-{number}",
                    "strategy": "chaos",
                    "allowed_symbols": allowed,
                    "limits": LIMITS,
                    "exchange_account": account,
                }
                created = http.post("/v1/bots", json=body)
                assert created.status_code == 201, created.text
                bot_id = created.json()["id"]
                assert http.post(f"/v1/bots/{bot_id}/start").status_code == 200
                bots.setdefault(user, []).append((bot_id, allowed))
    return bots


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def _marked(base_url: str, key: str) -> bool:
    answer = httpx.get(f"{base_url}/v1/prices", headers={"X-API-Key": key}, timeout=5)
    return answer.status_code == 200 and {p["symbol"] for p in answer.json()} >= {"BTC/USDT", "ETH/USDT"}


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


def _kill_switches(bots: dict[str, list[tuple[str, list[str]]]], clients: dict[str, Client]) -> None:
    """As a client ending its trading: each bot's kill switch, which asks for the cancel of every
    open order of the bot (the resting limits)."""
    for user, owned in bots.items():
        for bot_id, _ in owned:
            tripped = clients[user].send("POST", f"/v1/bots/{bot_id}/kill", json={"reason": "chaos run over"})
            assert tripped is not None and tripped.status_code == 200, tripped and tripped.text


def _all_ended(store: Any) -> bool:
    return not checks.unsettled_orders(store, checks.recorded_orders(store))


def _caught_up(base_url: str) -> bool:
    try:
        ready = httpx.get(f"{base_url}/health/ready", timeout=5)
    except httpx.TransportError:
        return False
    return ready.status_code == 200 and not any(ready.json()["lag_events"].values())


def _summary(
    tally: Tally, fleet: Fleet, orders: dict[UUID, checks.RecordedOrder], phases: dict[str, float]
) -> str:
    kills = {m.name: m.kills for m in fleet.members.values()}
    fills = sum(len(o.fills) for o in orders.values())
    errors = dict(fleet.errors().most_common())
    by_protection = sum(o.placed.meta.actor == "system:protection" for o in orders.values())
    times = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.items())
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
    settings = postgres_redis_settings
    phases: dict[str, float] = {}
    clock = time.monotonic()

    def phase(name: str) -> None:
        nonlocal clock
        phases[name], clock = time.monotonic() - clock, time.monotonic()

    initialised = tbot(settings, "db", "init")
    assert initialised.returncode == 0, initialised.stderr
    keys = _keys(settings)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    fleet = Fleet(settings_env(settings, **ENV), tmp_path)
    fleet.add("serve", "serve", "--port", str(port))
    for worker in WORKERS:
        fleet.add(worker, worker, "run")
    store = open_store(settings)
    read_side = ReadSideContainer()
    read_side.settings.override(providers.Object(settings))
    fleet.start_all()
    try:
        assert _wait(lambda: answers(base_url), 90), f"the API did not answer: {fleet.tail('serve')}"
        bots = _bots(base_url, keys)
        assert _wait(lambda: _marked(base_url, keys["alice"]), 60), fleet.tail("marketdata")
        phase("start")
        load = Load([Client(n, base_url, keys[u], bots[u], SEED) for n, u in enumerate(CLIENTS)])
        load.start()
        _chaos(fleet, LOAD_SECONDS)
        tally = load.stop()
        phase("load")

        # settle: no new prices or closing orders, the resting orders cancelled, execution done
        stopped = fleet.stop(["marketdata", "protection"])
        _kill_switches(bots, {u: Client(90 + n, base_url, keys[u], [], SEED) for n, u in enumerate(USERS)})
        ended = _wait(lambda: _all_ended(store), SETTLE_SECONDS)
        exchange = checks.rebuilt_exchange(read_side.read_engine(), BALANCES, PAPER)
        if ended:  # the exchange no longer changes: its last trades are being recorded, if any
            _wait(lambda: not checks.fills_match_trades(store, checks.recorded_orders(store), exchange), 10)
        caught_up = _wait(lambda: _caught_up(base_url), 30)
        stopped += fleet.stop(["serve", "execution", "projections"])
        phase("settle")
        audit = tbot(settings, "audit", "verify")
        phase("audit")

        orders = checks.recorded_orders(store)
        findings = {
            "acknowledged orders in the store": checks.acknowledged_orders(tally, orders),
            "orders at an end": checks.unsettled(store, orders, exchange),
            "fills are the exchange's trades": checks.fills_match_trades(store, orders, exchange),
            "each order submitted once": checks.single_submissions(orders, exchange),
            "positions equal the reference": checks.positions_match(store, orders, exchange),
            "audit verify exits 0": []
            if audit.returncode == 0
            else [audit.stdout[-3000:] + audit.stderr[-3000:]],
            "read models caught up": [] if caught_up else ["the projections still lagged after 30 s"],
            "no process ended by itself": [str(e) for e in fleet.exits] + stopped,
            "no 5xx answer": tally.server_errors,
            "every request answered": tally.given_up + load.failures,
            "the run did what it is for": _activity(tally, fleet, orders),
        }
        phase("checks")
        print(_summary(tally, fleet, orders, phases))
    finally:
        fleet.close()
        store.close()
        read_side.read_engine().dispose()
    failed = {check: found for check, found in findings.items() if found}
    assert not failed, json.dumps(failed, indent=1)[:20_000] + _evidence(fleet, failed)


def _activity(tally: Tally, fleet: Fleet, orders: dict[UUID, checks.RecordedOrder]) -> list[str]:
    """A run whose load never got through, or that killed nothing, proves nothing."""
    findings = [f"{m.name} was never killed" for m in fleet.members.values() if not m.kills]
    if len(tally.placed) < MIN_ORDERS:
        findings.append(f"only {len(tally.placed)} orders were acknowledged, fewer than {MIN_ORDERS}")
    if not any(o.fills for o in orders.values()):
        findings.append("no order was filled")
    return findings


def _evidence(fleet: Fleet, failed: dict[str, list[str]]) -> str:
    """The log lines that mention the first orders named by the findings."""
    named = []
    for found in failed.values():
        for line in found:
            for word in line.replace(":", " ").split():
                if len(word) == 36 and word.count("-") == 4 and word not in named:
                    named.append(word)
    lines = []
    for order_id in named[:3]:
        lines += [f"-- {order_id}", *fleet.grep(UUID(order_id).hex), *fleet.grep(order_id)]
    return "\n" + "\n".join(lines)


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
