"""The trading application bound to a real event store (SQLite or PostgreSQL)."""

from __future__ import annotations

from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    AggregateRecorder,
    EventStore,
    JSONTranscoder,
    OperationalError,
    Transcoder,
)
from eventsourcing.utils import strtobool
from psycopg import sql

from application.store import TradingApplication
from infrastructure.group_commit import GroupCommit
from infrastructure.settings import GROUP_COMMIT, Settings
from infrastructure.transcodings import DomainTranscoder, register_domain_transcodings


class ConfiguredTradingApplication(TradingApplication):
    """Knows how to write our domain values into stored events."""

    name = "tbot"

    def construct_transcoder(self) -> Transcoder:
        transcoder = DomainTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    def construct_event_store(self) -> EventStore[UUID]:
        """Events go through group commit (infrastructure/group_commit.py) unless GROUP_COMMIT=n."""
        recorder: AggregateRecorder = self.recorder
        if strtobool(self.env.get(GROUP_COMMIT, "n")):
            recorder = GroupCommit(self.recorder)
        return self.factory.event_store(mapper=self.mapper, recorder=recorder)


def open_store(settings: Settings) -> ConfiguredTradingApplication:
    """An application on existing tables: processes never create tables at start-up."""
    return ConfiguredTradingApplication(env=settings.store.eventsourcing_env(create_table=False))


def open_memory_store(aggregate_cache_size: int = 10_000) -> ConfiguredTradingApplication:
    """An event store in this process's memory (the library's POPO recorder): a backtest's, gone
    with the process unless it is written to a file store instead."""
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if aggregate_cache_size:
        env.update(AGGREGATE_CACHE_MAXSIZE=str(aggregate_cache_size), DEEPCOPY_FROM_AGGREGATE_CACHE="y")
    return ConfiguredTradingApplication(env=env)


class StoreUnavailable(Exception):
    """The event store's database cannot be reached."""


def create_tables(settings: Settings) -> None:
    """Creates the schema, event and snapshot tables once (``tbot db init``); safe to repeat."""
    env = settings.store.eventsourcing_env(create_table=True)
    try:
        if settings.store.backend == "postgres":
            _create_schema(env)
        ConfiguredTradingApplication(env=env).close()
    except (psycopg.OperationalError, OperationalError) as error:
        raise StoreUnavailable(f"cannot reach the {settings.store.backend} event store: {error}") from error


def _create_schema(env: dict[str, str]) -> None:
    with psycopg.connect(
        host=env["POSTGRES_HOST"],
        port=int(env["POSTGRES_PORT"]),
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        dbname=env["POSTGRES_DBNAME"],
        autocommit=True,
    ) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(env["POSTGRES_SCHEMA"])))
