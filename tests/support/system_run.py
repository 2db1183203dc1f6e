"""A whole tbot system as real processes for the tests that break things under it (the chaos
run kills processes, the outage run stops its servers): the five processes on PostgreSQL and Redis
with paper accounts filling in parts, users and running bots made through the API, careful clients
as the load; then everything settled and checked against the stores: every acknowledged order is
there, each order's fills are the exchange's trades, the exchange got each order once, positions
equal an independent reference, the read models equal a fresh rebuild (`tbot audit verify`), no
process ended by itself and no request was answered 5xx but 503."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from dependency_injector import providers

from infrastructure.event_store import open_store
from infrastructure.paper_exchange import PaperSettings
from infrastructure.settings import Settings
from interfaces.composition import Container
from tests.support import chaos_checks as checks
from tests.support.api import answers, free_port
from tests.support.chaos_fleet import Fleet
from tests.support.chaos_load import Client, Load, Tally
from tests.support.processes import settings_env, tbot

SEED = 20_260_101
SETTLE_SECONDS = 40.0
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


def _make_keys(settings: Settings) -> dict[str, str]:
    container = Container()
    container.settings.override(providers.Object(settings))
    identity = container.identity()
    keys = {}
    for user in USERS:
        identity.create_user(user, "trader", PASSWORD)
        keys[user] = identity.create_key(user)
    container.shutdown_resources()
    return keys


def _make_bots(base_url: str, keys: dict[str, str]) -> dict[str, list[tuple[str, list[str]]]]:
    """Each user's running bots, with the symbols each trades."""
    bots: dict[str, list[tuple[str, list[str]]]] = {}
    symbols = iter(SYMBOLS)
    for user, accounts in USERS.items():
        with httpx.Client(base_url=base_url, headers={"X-API-Key": keys[user]}, timeout=30) as http:
            for number, account in enumerate(accounts):
                allowed = next(symbols)
                body = {
                    "name": f"{user}-{number}",
                    "strategy": "manual",
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


def wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def _marked(base_url: str, key: str) -> bool:
    answer = httpx.get(f"{base_url}/v1/prices", headers={"X-API-Key": key}, timeout=5)
    return answer.status_code == 200 and {p["symbol"] for p in answer.json()} >= {"BTC/USDT", "ETH/USDT"}


def _kill_switches(bots: dict[str, list[tuple[str, list[str]]]], clients: dict[str, Client]) -> None:
    """As a client ending its trading: each bot's kill switch, which asks for the cancel of every
    open order of the bot (the resting limits)."""
    for user, owned in bots.items():
        for bot_id, _ in owned:
            tripped = clients[user].send("POST", f"/v1/bots/{bot_id}/kill", json={"reason": "chaos run over"})
            assert tripped is not None and tripped.status_code == 200, tripped and tripped.text


def _all_ended(store: Any) -> bool:
    return not checks.unsettled_orders(store, checks.recorded_orders(store))


def caught_up(base_url: str) -> bool:
    try:
        ready = httpx.get(f"{base_url}/health/ready", timeout=5)
    except httpx.TransportError:
        return False
    return ready.status_code == 200 and not any(ready.json()["lag_events"].values())


@dataclass
class System:
    """The five processes running on ``settings``, and what the checks read the stores with."""

    settings: Settings
    fleet: Fleet
    base_url: str
    keys: dict[str, str]
    bots: dict[str, list[tuple[str, list[str]]]]
    store: Any
    read_side: Container
    phases: dict[str, float] = field(default_factory=dict)
    _clock: float = field(default_factory=time.monotonic)

    def phase(self, name: str) -> None:
        """Notes how long the phase that ends now took."""
        now = time.monotonic()
        self.phases[name], self._clock = now - self._clock, now

    def load(self, clients: list[str] = CLIENTS) -> Load:
        """Careful clients of the users named, one thread each (not started)."""
        return Load(
            [Client(n, self.base_url, self.keys[u], self.bots[u], SEED) for n, u in enumerate(clients)]
        )


@contextmanager
def system_on(settings: Settings, log_dir: Path, **env: str) -> Iterator[System]:
    """The tables, the users and their keys, the five processes started (``env`` over ENV), the
    API answering, the bots created and running, every symbol marked."""
    initialised = tbot(settings, "db", "init")
    assert initialised.returncode == 0, initialised.stderr
    keys = _make_keys(settings)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    fleet = Fleet(settings_env(settings, **{**ENV, **env}), log_dir)
    fleet.add("serve", "serve", "--port", str(port))
    for worker in WORKERS:
        fleet.add(worker, worker, "run")
    store = open_store(settings)
    read_side = Container()
    read_side.settings.override(providers.Object(settings))
    fleet.start_all()
    try:
        assert wait(lambda: answers(base_url), 90), f"the API did not answer: {fleet.tail('serve')}"
        bots = _make_bots(base_url, keys)
        assert wait(lambda: _marked(base_url, keys["alice"]), 60), fleet.tail("marketdata")
        system = System(settings, fleet, base_url, keys, bots, store, read_side)
        system.phase("start")
        yield system
    finally:
        fleet.close()
        store.close()
        read_side.shutdown_resources()


def settle_and_check(system: System, tally: Tally, load: Load) -> dict[str, list[str]]:
    """Stops new prices and closing orders, trips every bot's kill switch (cancelling the resting
    orders), waits for every order to end and the read models to catch up, stops the processes,
    then checks the stores; returns the findings of each check (empty: it passed)."""
    fleet, store = system.fleet, system.store
    stopped = fleet.stop(["marketdata", "protection"])
    closers = {u: Client(90 + n, system.base_url, system.keys[u], [], SEED) for n, u in enumerate(USERS)}
    _kill_switches(system.bots, closers)
    ended = wait(lambda: _all_ended(store), SETTLE_SECONDS)
    exchange = checks.rebuilt_exchange(system.read_side.read_engine(), BALANCES, PAPER)
    if ended:  # the exchange no longer changes: its last trades are being recorded, if any
        wait(lambda: not checks.fills_match_trades(store, checks.recorded_orders(store), exchange), 10)
    settled = wait(lambda: caught_up(system.base_url), 30)
    stopped += fleet.stop(["serve", "execution", "projections"])
    system.phase("settle")
    audit = tbot(system.settings, "audit", "verify")
    system.phase("audit")
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
        "read models caught up": [] if settled else ["the projections still lagged after 30 s"],
        "no process ended by itself": [str(e) for e in fleet.exits] + stopped,
        "no 5xx answer but 503": tally.server_errors,
        "every request answered": tally.given_up + load.failures,
    }
    system.phase("checks")
    return findings


def failure_report(fleet: Fleet, findings: dict[str, list[str]]) -> str:
    """The failed checks, and the log lines that mention the first orders they name."""
    failed = {check: found for check, found in findings.items() if found}
    named: list[str] = []
    for found in failed.values():
        for line in found:
            for word in line.replace(":", " ").split():
                if len(word) == 36 and word.count("-") == 4 and word not in named:
                    named.append(word)
    lines = []
    for order_id in named[:3]:
        lines += [f"-- {order_id}", *fleet.grep(UUID(order_id).hex), *fleet.grep(order_id)]
    return json.dumps(failed, indent=1)[:20_000] + "\n" + "\n".join(lines)


def _audit(audit: subprocess.CompletedProcess[str]) -> list[str]:
    return [] if audit.returncode == 0 else [audit.stdout[-3000:] + audit.stderr[-3000:]]
