"""The read side assembled from settings: read-model engine, projections, event reader, live
store, locks. Extends the core container (dependency-injector)."""

from __future__ import annotations

from dependency_injector import providers

from infrastructure.container import Container
from infrastructure.ownership import open_ownership
from projections.catalog import sql_projections
from projections.live import LiveProjection
from projections.live_stores import open_live_store
from projections.read_models import ReadModels
from projections.reader import EventReader, Wakeup


class ReadSideContainer(Container):
    read_models = providers.Singleton(
        ReadModels, engine=Container.read_engine, projections=providers.Callable(sql_projections)
    )
    reader = providers.Singleton(EventReader, store=Container.store)
    live_store = providers.Singleton(open_live_store, settings=Container.settings)
    live_projection = providers.Singleton(
        LiveProjection, max_feed_length=Container.settings.provided.feed_max_length
    )
    locks = providers.Factory(open_ownership, settings=Container.settings, engine=Container.read_engine)
    wakeup = providers.Factory(Wakeup, store=Container.store)
