"""The read side assembled from settings: read-model engine, projections, event reader, live
store, locks. Extends the core container (dependency-injector). This is where each of the read
side's ports (projections/ports.py) gets its adapter (infrastructure/read_store/): by the read
database's dialect, the event store recorder's type, or the settings."""

from __future__ import annotations

from dependency_injector import providers
from sqlalchemy import Engine

from application.store import TradingApplication
from infrastructure.container import Container
from infrastructure.ownership import open_ownership
from infrastructure.read_store.bulk import row_writer
from infrastructure.read_store.live_stores import open_live_store
from infrastructure.read_store.store_partitions import store_partitions
from infrastructure.read_store.timeseries import detect
from infrastructure.read_store.wakeup import open_wakeup
from infrastructure.settings import Settings
from projections.engine.read_models import ReadModels
from projections.engine.reader import EventReader
from projections.models.catalog import sql_projections
from projections.models.live import LiveProjection
from projections.ports import LiveStore, Wakeup


def read_models_on(engine: Engine) -> ReadModels:
    """Every SQL read model on this engine, written with the read database's own adapters (COPY
    on PostgreSQL, by the connection's dialect; the time-series layout the database supports)."""
    return ReadModels(engine, sql_projections(), writers=row_writer, time_series=detect)


def event_reader(store: TradingApplication) -> EventReader:
    """The event store's reader, with the partitioned read of a PostgreSQL store."""
    return EventReader(store, store_partitions(store))


def wakeup_on(store: TradingApplication) -> Wakeup:
    """LISTEN on a PostgreSQL store, polling alone on SQLite."""
    return open_wakeup(store)


def live_store_of(settings: Settings) -> LiveStore:
    """Redis with REDIS_URL, this process's memory without."""
    return open_live_store(settings)


class ReadSideContainer(Container):
    read_models = providers.Singleton(read_models_on, engine=Container.read_engine)
    reader = providers.Singleton(event_reader, store=Container.store)
    live_store = providers.Singleton(live_store_of, settings=Container.settings)
    live_projection = providers.Singleton(
        LiveProjection, max_feed_length=Container.settings.provided.feed_max_length
    )
    locks = providers.Factory(open_ownership, settings=Container.settings, engine=Container.read_engine)
    wakeup = providers.Factory(wakeup_on, store=Container.store)
