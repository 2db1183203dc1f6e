"""The read side assembled from settings: read-model engine, projections, event reader, live
store, locks. Extends the core container (dependency-injector)."""

from __future__ import annotations

from typing import Any

from dependency_injector import providers
from sqlalchemy import Engine

from infrastructure.container import Container
from infrastructure.settings import Settings
from projections.engine.read_models import ReadModels
from projections.engine.reader import EventReader, Wakeup
from projections.live_stores import open_live_store
from projections.locks import AdvisoryLocks, FileLocks, ProjectionLocks
from projections.models.catalog import sql_projections
from projections.models.live import LiveProjection
from projections.worker import ProjectionWorker


def _locks(settings: Settings, engine: Engine) -> ProjectionLocks:
    if settings.backend == "postgres":
        return AdvisoryLocks(engine)
    path = settings.read_sqlite_path
    return FileLocks(path.parent, path.name)


class ReadSideContainer(Container):
    read_models = providers.Singleton(
        ReadModels, engine=Container.read_engine, projections=providers.Callable(sql_projections)
    )
    reader = providers.Singleton(EventReader, store=Container.store)
    live_store = providers.Singleton(open_live_store, settings=Container.settings)
    live_projection = providers.Singleton(
        LiveProjection, max_feed_length=Container.settings.provided.feed_max_length
    )
    locks = providers.Factory(_locks, settings=Container.settings, engine=Container.read_engine)
    wakeup = providers.Factory(Wakeup, store=Container.store)


def build_worker(container: Any, names: list[str], locks: ProjectionLocks | None = None) -> ProjectionWorker:
    """A worker for these projections, wired from a ReadSideContainer."""
    settings: Settings = container.settings()
    return ProjectionWorker(
        reader=container.reader(),
        read_models=container.read_models(),
        names=names,
        locks=locks or container.locks(),
        wakeup=container.wakeup(),
        live=container.live_projection(),
        live_store=container.live_store().bound,
        batch_size=settings.projection_batch_size,
        poll_seconds=settings.projection_poll_seconds,
        now=container.clock().now,
    )
