"""The projection worker: the projections' job (``projections.worker``) under the supervisor."""

from __future__ import annotations

from interfaces.composition import Container
from interfaces.workers.supervisor import Supervisor
from projections.locks import ProjectionLocks
from projections.worker import ProjectionWorker


def projection_job(
    container: Container, names: list[str], locks: ProjectionLocks | None = None
) -> ProjectionWorker:
    """The job for these projections (each taken by its own lock, so no lock for the worker)."""
    settings = container.settings()
    return ProjectionWorker(
        reader=container.reader(),
        read_models=container.read_models(),
        names=names,
        locks=locks or container.locks(),
        wakeup=container.wakeup(),
        live=container.live_projection(),
        live_store=container.live_store().bound,
        batch_size=settings.projections.batch_size,
        poll_seconds=settings.projections.poll_seconds,
        now=container.clock().now,
    )


def projection_worker(
    container: Container, names: list[str], locks: ProjectionLocks | None = None
) -> Supervisor[ProjectionWorker]:
    return Supervisor(projection_job(container, names, locks))


def drain_projections(container: Container, names: list[str]) -> dict[str, str]:
    """Brings these projections up to the store's head once, then closes the job (its wake-up's
    connection with it); returns the projections that stopped, with why."""
    job = projection_job(container, names)
    try:
        return job.drain()
    finally:
        job.close()
