"""The read side wired on a test's settings, with helpers to run the projections to the head and
read the read models back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dependency_injector import providers
from sqlalchemy import text

from infrastructure.event_store import create_tables
from infrastructure.read_store.schemas import quoted
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.tables import install_worker_tables
from interfaces.workers.projections import drain_projections
from projections.engine.read_models import ReadModels
from projections.engine.reader import EventReader
from projections.models.catalog import ALL_NAMES
from tests.support.clock import ManualClock


@dataclass
class ReadSide:
    container: Any
    read_models: ReadModels
    reader: EventReader

    @property
    def live_store(self) -> Any:
        return self.container.live_store().bound()

    def catch_up(self, names: Sequence[str] = ALL_NAMES) -> dict[str, str]:
        """Runs a worker for these projections until they reach the head; returns the failures."""
        return drain_projections(self.container, list(names))

    def rows(self, view: str, order_by: str) -> list[dict[str, Any]]:
        with self.read_models.engine.connect() as conn:
            query = text(f"SELECT * FROM {quoted(conn, view)} ORDER BY {order_by}")
            return [dict(row) for row in conn.execute(query).mappings()]

    def typed_rows(self, name: str, order_by: str) -> list[dict[str, Any]]:
        """Rows of a projection's current tables, through their column types (exact decimals)."""
        projection = self.read_models.projections[name]
        with self.read_models.engine.connect() as conn:
            generation = {t.name: t.generation for t in self.read_models.tracking(conn)}[name]
            table = self.read_models.tables(projection, generation)[name]
            query = table.select().order_by(*(table.c[c] for c in order_by.split(",")))
            return [dict(row) for row in conn.execute(query).mappings()]


@contextmanager
def read_side_on(settings: Settings, clock: ManualClock | None = None) -> Iterator[ReadSide]:
    create_tables(settings)
    container = Container()
    container.settings.override(providers.Object(settings))
    if clock is not None:
        container.clock.override(providers.Object(clock))
    read_models = container.read_models()
    read_models.install()
    install_worker_tables(container.read_engine())
    try:
        yield ReadSide(container, read_models, container.reader())
    finally:
        container.store().close()
        container.shutdown_resources()
