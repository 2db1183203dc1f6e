"""Fixtures: real event stores. PostgreSQL and Redis come from `make test` (tests/support/run_suite.sh);
under it (TBOT_REQUIRE_SERVICES=1) a missing server fails the run instead of skipping."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from infrastructure.settings import Settings
from tests.support.fake_binance import FakeBinance
from tests.support.schemas import fresh_schema
from tests.support.settings import changed, embedded_store
from tests.support.world import World, world_on


def _service_url(name: str) -> str:
    url = os.environ.get(name)
    if url:
        return url
    if os.environ.get("TBOT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is not set although the services were meant to be running")
    pytest.skip(f"{name} not set: run the suite with `make test`")


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(store=embedded_store(tmp_path))


@pytest.fixture
def postgres_url() -> str:
    return _service_url("TBOT_TEST_DATABASE_URL")


@pytest.fixture
def redis_url() -> str:
    return _service_url("TBOT_TEST_REDIS_URL")


@pytest.fixture
def postgres_settings(postgres_url: str) -> Iterator[Settings]:
    """A fresh schema per test, dropped afterwards."""
    with fresh_schema(postgres_url, postgres_pool_size=12) as settings:
        yield settings


@pytest.fixture(scope="module")
def module_postgres_redis_settings() -> Iterator[Settings]:
    """One schema (and Redis namespace) shared by a module's tests, e.g. behind one server process."""
    redis_url = _service_url("TBOT_TEST_REDIS_URL")
    with fresh_schema(_service_url("TBOT_TEST_DATABASE_URL"), postgres_pool_size=12) as settings:
        yield changed(settings, redis={"url": SecretStr(redis_url)})


@pytest.fixture
def postgres_redis_settings(postgres_settings: Settings, redis_url: str) -> Settings:
    """PostgreSQL for events and read models, Redis for the live model (keys namespaced per schema)."""
    return changed(postgres_settings, redis={"url": SecretStr(redis_url)})


@pytest.fixture(params=["sqlite", "postgres"])
def any_settings(request: pytest.FixtureRequest) -> Settings:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_settings" if request.param == "sqlite" else "postgres_settings"
    settings: Settings = request.getfixturevalue(name)
    return settings


@pytest.fixture(params=["sqlite", "postgres+redis"])
def read_settings(request: pytest.FixtureRequest) -> Settings:
    """Each read-side test runs on the embedded default and on PostgreSQL with Redis."""
    name = "sqlite_settings" if request.param == "sqlite" else "postgres_redis_settings"
    settings: Settings = request.getfixturevalue(name)
    return settings


@pytest.fixture
def world(sqlite_settings: Settings) -> Iterator[World]:
    with world_on(sqlite_settings) as w:
        yield w


@pytest.fixture
def pg_world(postgres_settings: Settings) -> Iterator[World]:
    with world_on(postgres_settings) as w:
        yield w


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    """A local Binance spot server (tests/support/fake_binance.py), BTC at 50,000 USDT."""
    server = FakeBinance().start()
    server.set_price("BTCUSDT", Decimal(50000))
    try:
        yield server
    finally:
        server.stop()
