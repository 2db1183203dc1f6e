"""Each projection's lag as metrics, read from the store when /metrics is scraped (what `tbot
projections status` shows), so the projections' batches pay nothing for it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import structlog
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

from infrastructure.metrics import ProjectionLag, projection_lag_families
from infrastructure.outages import one_line
from interfaces.composition import Container
from projections.engine.status import projection_status

log = structlog.get_logger("tbot.metrics")


class ProjectionLagCollector:
    """A collector of the lag of ``names``; a store out of reach leaves them out of the scrape
    (logged), rather than failing it."""

    def __init__(self, container: Container, names: Sequence[str]) -> None:
        self.container = container
        self.names = list(names)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        shared = self.container.settings().redis.url is not None  # otherwise the live model is the API's
        try:
            rows = projection_status(
                self.container.reader(),
                self.container.read_models(),
                self.names,
                self.container.clock().now(),
                holders={},
                live_store=self.container.live_store() if shared else None,
            )
        except Exception as error:
            log.warning("projection lag not measured", error=one_line(error))
            rows = []
        lags = [ProjectionLag(row.name, row.lag_events, row.lag_seconds) for row in rows]
        yield from projection_lag_families(lags)

    def describe(self) -> list[GaugeMetricFamily]:
        """Nothing read at registration (the store is read when scraped)."""
        return []


def measure_projection_lag(
    container: Container, names: Sequence[str], registry: CollectorRegistry = REGISTRY
) -> ProjectionLagCollector:
    collector = ProjectionLagCollector(container, names)
    registry.register(collector)
    return collector
