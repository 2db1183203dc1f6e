"""Where each projection is: position, lag in events and seconds, generation, backend, holder,
and the error that stopped it (or that its last batch met), if any."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from projections.engine.errors import UndecodableEvent
from projections.engine.read_models import ReadModels
from projections.engine.reader import EventReader
from projections.models.live import NAME as LIVE
from projections.ports import LiveStore


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    lag_seconds: float | None
    backend: str
    generation: int
    holder: str
    error: str | None

    @property
    def lag_events(self) -> int:
        return max(0, self.head - self.position)


def projection_status(
    reader: EventReader,
    read_models: ReadModels,
    names: Sequence[str],
    now: datetime,
    holders: Mapping[str, str],
    live_store: LiveStore | None = None,
) -> list[ProjectionStatus]:
    head = reader.head()
    backend = read_models.check_installed().kind
    with read_models.engine.connect() as conn:
        tracks = {t.name: t for t in read_models.tracking(conn, names)}
    found = []
    for name in names:
        if name == LIVE:
            if live_store is None:
                continue
            position, generation, error = live_store.position(), live_store.generation, live_store.error()
            kind = live_store.kind
        else:
            track = tracks[name]
            position, generation, error, kind = track.position, track.generation, track.error, backend
        found.append(
            ProjectionStatus(
                name=name,
                position=position,
                head=head,
                lag_seconds=_lag_seconds(reader, position, head, now),
                backend=kind,
                generation=generation,
                holder=holders.get(name, "-"),
                error=error,
            )
        )
    return found


def _lag_seconds(reader: EventReader, position: int, head: int, now: datetime) -> float | None:
    """How long the oldest event the projection has not applied has been waiting; None when that
    event cannot be decoded (its time is inside it)."""
    if position >= head:
        return 0.0
    try:
        oldest = reader.read(position, 1)
    except UndecodableEvent:
        return None
    return max(0.0, (now - oldest[0].at).total_seconds()) if oldest else 0.0
