"""Nothing is lost, and no worker ends, when the servers under tbot go away. The five processes
run on a PostgreSQL and a Redis of the test's own while careful clients place and cancel orders
over HTTP; PostgreSQL is restarted, then stopped for seconds (meanwhile the API answers commands
503 at once and records nothing), then Redis is stopped and comes back empty. Afterwards every
acknowledged order is in the store, each order reached the exchange once, fills equal its trades,
the read models (SQL and live) equal a fresh rebuild, no process ended by itself, and the workers
said they could not reach a store and then recovered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from pydantic import SecretStr

from domain.bot import Bot
from domain.order import Order
from infrastructure.read_store.live_stores import MemoryLiveStore
from infrastructure.settings import Settings
from interfaces.composition import event_reader
from projections.models.envelope import Envelope
from projections.models.live import LiveProjection
from tests.support.private_services import PrivateServices, private_services
from tests.support.schemas import fresh_schema
from tests.support.settings import changed
from tests.support.system_run import System, failure_report, settle_and_check, system_on

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
FAST = 0.5  # seconds: "at once", for a 503 while the event store is away
PROBES = 8
MIN_ORDERS = 20  # acknowledged, or the run tested nothing


@pytest.fixture
def services() -> Iterator[PrivateServices]:
    with private_services() as running:
        yield running


def _probe_while_down(system: System) -> tuple[list[tuple[int, float]], list[str]]:
    """Orders sent once each (new client order ids) while PostgreSQL is away: each answer's status
    and time, and the client order ids sent."""
    bot_id = system.bots["alice"][0][0]
    answers, sent = [], []
    with httpx.Client(base_url=system.base_url, headers={"X-API-Key": system.keys["alice"]}) as http:
        for _ in range(PROBES):
            client_order_id = f"while-down-{uuid4().hex[:12]}"
            body = {"symbol": "BTC/USDT", "side": "buy", "order_type": "market", "quantity": "0.001"}
            started = time.monotonic()
            answer = http.post(
                f"/v1/bots/{bot_id}/orders", json={**body, "client_order_id": client_order_id}, timeout=60
            )
            answers.append((answer.status_code, time.monotonic() - started))
            sent.append(client_order_id)
            assert answer.status_code != 503 or answer.headers.get("Retry-After") == "1", answer.text
    return answers, sent


def _live_model_matches_a_rebuild(system: System) -> list[str]:
    """The Redis live model (emptied when Redis came back) equals one rebuilt from the store."""
    live = system.read_side.live_store()
    reader = event_reader(system.store)
    rebuilt, projection = MemoryLiveStore(), LiveProjection(max_feed_length=100_000)
    position = 0
    while batch := reader.read(position, 5000):
        projection.apply(rebuilt, batch)
        position = batch[-1].position
    bots = sorted(str(bot_id) for owned in system.bots.values() for bot_id, _ in owned)
    found = []
    if live.position() != rebuilt.position():
        found.append(f"live model at {live.position()}, the store at {rebuilt.position()}")
    if live.positions(bots) != rebuilt.positions(bots):
        found.append(f"positions {live.positions(bots)} != rebuilt {rebuilt.positions(bots)}")
    for bot in bots:
        if live.bot_pnl(bot) != rebuilt.bot_pnl(bot):
            found.append(f"bot {bot} PnL {live.bot_pnl(bot)} != rebuilt {rebuilt.bot_pnl(bot)}")
    return found


def _nothing_half_written(system: System, refused: list[str]) -> list[str]:
    """No order refused with 503 was recorded, and every recorded order was admitted by its bot in
    the same transaction (no Order.Placed without its Bot.OrderAdmitted)."""
    placed: dict[str, str] = {}
    admitted: set[str] = set()
    for envelope in _all_events(system):
        event = envelope.event
        if isinstance(event, Order.Placed):
            placed[str(event.originator_id)] = event.request.client_order_id
        elif isinstance(event, Bot.OrderAdmitted):
            admitted.add(str(event.order_id))
    found = [f"order {cid} was refused 503 but recorded" for cid in placed.values() if cid in refused]
    found += [f"order {order} placed without its admission" for order in placed if order not in admitted]
    return found


def _all_events(system: System) -> list[Envelope]:
    reader, events, position = event_reader(system.store), [], 0
    while batch := reader.read(position, 5000):
        events += batch
        position = batch[-1].position
    return events


def _workers_recovered(system: System) -> list[str]:
    """Every worker that met the outage in a turn said so, and later said it recovered; the
    projection worker (polling the store every fraction of a second) met it for sure."""
    found = []
    for worker in ("projections", "execution", "protection", "marketdata"):
        lines = system.fleet.members[worker].log.read_text(errors="replace").splitlines()
        failed = [n for n, line in enumerate(lines) if "cannot reach a store" in line]
        recovered = [n for n, line in enumerate(lines) if "worker recovered" in line]
        if failed and not any(n > failed[-1] for n in recovered):
            found.append(f"{worker} did not say it recovered after its last failed turn")
        if worker == "projections" and not failed:
            found.append("the projection worker never met the outage")
    return found


def test_restarts_and_outages_of_postgres_and_redis_lose_nothing_and_end_no_worker(
    services: PrivateServices, tmp_path: Path
) -> None:
    with fresh_schema(services.database_url, postgres_pool_size=12) as pg_settings:
        settings = changed(pg_settings, redis={"url": SecretStr(services.redis_url)})
        findings, system = _outage_run(services, settings, tmp_path)
    assert not any(findings.values()), failure_report(system.fleet, findings)


def _outage_run(
    services: PrivateServices, settings: Settings, log_dir: Path
) -> tuple[dict[str, list[str]], System]:
    with system_on(settings, log_dir) as system:
        load = system.load(["alice", "bob"])
        load.start()
        time.sleep(3)
        services.restart_postgres()  # a blip: in-flight commands are retried on the new server
        time.sleep(3)
        services.stop_postgres()
        answers, refused = _probe_while_down(system)
        time.sleep(2)
        services.start_postgres()
        time.sleep(4)
        services.stop_redis()
        time.sleep(3)
        services.start_redis()  # empty: the live model is rebuilt from the event store
        time.sleep(4)
        tally = load.stop()
        system.phase("load and outages")
        findings = settle_and_check(system, tally, load)
        findings["commands answered 503 at once while PostgreSQL is away"] = [
            f"{status} after {seconds:.2f} s"
            for status, seconds in answers
            if status != 503 or seconds > FAST
        ]
        findings["nothing half written"] = _nothing_half_written(system, refused)
        findings["live model equals a rebuild"] = _live_model_matches_a_rebuild(system)
        findings["workers said so and recovered"] = _workers_recovered(system)
        placed = len(tally.placed)
        findings["the run did what it is for"] = [] if placed >= MIN_ORDERS else [f"only {placed} orders"]
        print(f"outage run: {placed} orders, answers while down {answers}, {system.phases}")
    return findings, system
