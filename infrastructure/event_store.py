"""The trading application bound to a real event store (SQLite or PostgreSQL)."""

from __future__ import annotations

from eventsourcing.persistence import JSONTranscoder

from application.store import TradingApplication
from infrastructure.settings import Settings
from infrastructure.transcodings import register_domain_transcodings


class ConfiguredTradingApplication(TradingApplication):
    """Knows how to write our domain values into stored events."""

    name = "tbot"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)


def open_store(settings: Settings) -> ConfiguredTradingApplication:
    """An application on existing tables: processes never create tables at start-up."""
    return ConfiguredTradingApplication(env=settings.eventsourcing_env(create_table=False))


def create_tables(settings: Settings) -> None:
    """Creates the event and snapshot tables once (``tbot db init``); safe to repeat."""
    ConfiguredTradingApplication(env=settings.eventsourcing_env(create_table=True)).close()
