"""A projection that cannot apply an event never stalls unseen: `/health/ready` answers 503 naming
it with its error, `tbot projections status` shows the error (and prints one JSON document with
--json), and the worker carries on by itself once the cause is gone."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient
from sqlalchemy import text

from application import commands as c
from domain.bot import Bot
from infrastructure.event_store import create_tables
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.http.app import create_app
from interfaces.tables import install_worker_tables
from interfaces.workers.projections import drain_projections, projection_job
from interfaces.workers.supervisor import Supervisor
from projections.engine.read_models import ReadModels
from projections.models.bots import BotsProjection
from projections.models.catalog import ALL_NAMES
from projections.models.live import LiveProjection
from projections.worker import ProjectionWorker
from tests.support.alien import alien
from tests.support.processes import tbot, wait_for
from tests.support.world import ACTOR, LIMITS


@dataclass
class Server:
    container: Any
    http: TestClient

    def create_bot(self) -> Any:
        command = c.CreateBot(
            actor=ACTOR, name="b", strategy="manual", allowed_symbols=["BTC/USDT"], limits=LIMITS
        )
        return self.container.bus().dispatch(command).aggregate_id

    def ready(self) -> tuple[int, dict[str, Any]]:
        answer = self.http.get("/health/ready")
        return answer.status_code, answer.json()

    def tracking_error(self, name: str) -> str | None:
        read_models: ReadModels = self.container.read_models()
        with read_models.engine.connect() as conn:
            [track] = read_models.tracking(conn, [name])
        return track.error

    def worker(self, names: list[str] = ALL_NAMES) -> ProjectionWorker:
        worker = projection_job(self.container, list(names))
        worker.retry_seconds = 0.2
        worker.poll_seconds = 0.05
        return worker


@contextmanager
def server_on(settings: Settings) -> Iterator[Server]:
    """The HTTP application in process, with the container its workers share (and so, on the
    embedded default, the in-process live model)."""
    container = Container()
    container.settings.override(providers.Object(settings))
    create_tables(settings)
    container.read_models().install()
    install_worker_tables(container.read_engine())
    container.identity().install()
    try:
        with TestClient(create_app(container)) as http:
            yield Server(container, http)
    finally:
        container.store().close()
        container.shutdown_resources()


@contextmanager
def running(worker: ProjectionWorker) -> Iterator[ProjectionWorker]:
    supervisor = Supervisor(worker)
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    try:
        yield worker
    finally:
        supervisor.stop()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_a_stopped_projection_makes_health_unready_and_shows_in_status(read_settings: Settings) -> None:
    with server_on(read_settings) as server:
        server.create_bot()
        assert drain_projections(server.container, ALL_NAMES) == {}
        status, body = server.ready()
        assert status == 200 and body["checks"]["projections"] == "ok"
        server.container.store().save(alien())
        unknown = server.container.store().last_position()
        server.create_bot()

        assert set(drain_projections(server.container, ["bots", "live"])) == {"bots", "live"}

        status, body = server.ready()
        assert status == 503 and body["status"] == "unavailable"
        stopped = body["checks"]["projections"]
        assert set(stopped) == {"bots", "live"}  # the others are behind, not stopped
        for name, error in stopped.items():
            assert f"projection {name} stopped at event #{unknown} (Alien.Landed)" in error

        shown = tbot(read_settings, "projections", "status", "--json")
        assert shown.returncode == 0, shown.stderr
        rows = {row["name"]: row for row in json.loads(shown.stdout)}  # one JSON document
        assert f"stopped at event #{unknown} (Alien.Landed)" in rows["bots"]["error"]
        assert rows["bots"]["position"] == unknown - 1
        assert rows["orders"]["error"] is None
        if read_settings.redis.url is not None:  # the in-process live model is another process's
            assert f"stopped at event #{unknown} (Alien.Landed)" in rows["live"]["error"]
        table = tbot(read_settings, "projections", "status", COLUMNS="300")
        assert table.returncode == 0, table.stderr
        assert f"projection bots stopped at event #{unknown} (Alien.Landed)" in table.stdout


def _failing_while(broken: threading.Event, original: Callable[..., None]) -> Callable[..., None]:
    def handler(*args: Any) -> None:
        if broken.is_set():
            raise RuntimeError("the fault under test")
        original(*args)

    return handler


def test_a_stopped_projection_carries_on_by_itself_once_the_cause_is_gone(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = threading.Event()
    broken.set()
    handlers = dict(BotsProjection._handlers)
    handlers[Bot.Created] = _failing_while(broken, handlers[Bot.Created])
    monkeypatch.setattr(BotsProjection, "_handlers", handlers)
    monkeypatch.setattr(BotsProjection, "_resolved", {})
    monkeypatch.setattr(LiveProjection, "_apply", _failing_while(broken, LiveProjection._apply))
    with server_on(sqlite_settings) as server, running(server.worker()) as worker:
        bot = server.create_bot()
        wait_for(
            lambda: set(server.ready()[1]["checks"]["projections"]) == {"bots", "live"}, 10, "both stopped"
        )
        assert "RuntimeError: the fault under test" in (server.tracking_error("bots") or "")
        assert set(worker.failed) == {"bots", "live"}

        broken.clear()

        wait_for(lambda: server.ready()[0] == 200, 10, "the projections to carry on")
        assert server.tracking_error("bots") is None
        assert worker.failed == {}
        assert server.http.get("/health/ready").json()["lag_events"]["bots"] == 0
        assert server.container.live_store().directory([str(bot)])


def test_a_read_database_fault_is_recorded_and_retried_without_a_restart(sqlite_settings: Settings) -> None:
    with server_on(sqlite_settings) as server, running(server.worker(["bots", "orders"])):
        engine = server.container.read_models().engine
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE bots_g1 RENAME TO bots_g1_away"))
        server.create_bot()
        wait_for(lambda: server.ready()[0] == 503, 10, "health to see the fault")
        stopped = server.ready()[1]["checks"]["projections"]
        assert set(stopped) == {"bots", "orders"}  # one transaction holds both
        assert "cannot apply its next batch, retrying: OperationalError" in stopped["bots"]

        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE bots_g1_away RENAME TO bots_g1"))

        wait_for(lambda: server.ready()[0] == 200, 10, "the projections to carry on")
        assert server.tracking_error("bots") is None
