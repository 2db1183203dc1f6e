"""Audit: rebuild every SQL projection into scratch tables, to exactly the position each live one
has reached, and compare them row by row with the live tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, select

from projections.engine.read_models import ReadModels
from projections.engine.reader import EventReader


@dataclass(frozen=True)
class Difference:
    projection: str
    table: str
    key: str
    column: str
    live: Any
    rebuilt: Any

    def __str__(self) -> str:
        return (
            f"{self.projection}: {self.table} {self.key}: {self.column} is {self.live!r} "
            f"in the live table, {self.rebuilt!r} rebuilt from the events"
        )


def verify(
    reader: EventReader,
    live: ReadModels,
    scratch: ReadModels,
    names: Sequence[str],
    batch_size: int = 5000,
) -> list[Difference]:
    """``scratch`` must be freshly installed (generation 1, position 0)."""
    with live.engine.connect() as conn:
        targets = {t.name: t.position for t in live.tracking(conn, names)}
    reached = _build(reader, scratch, targets, {name: 0 for name in names}, batch_size)
    with live.write() as conn:  # holds the workers back while we compare
        tracks = live.tracking(conn, names, lock=True)
        _build(reader, scratch, {t.name: t.position for t in tracks}, reached, batch_size)
        differences: list[Difference] = []
        with scratch.engine.connect() as scratch_conn:
            for track in tracks:
                projection = live.projections[track.name]
                ours = live.tables(projection, track.generation)
                theirs = scratch.tables(scratch.projections[track.name], 1)
                for name in ours:
                    differences += _compare(track.name, name, conn, ours[name], scratch_conn, theirs[name])
    return differences


def _build(
    reader: EventReader,
    scratch: ReadModels,
    targets: dict[str, int],
    reached: dict[str, int],
    batch_size: int,
) -> dict[str, int]:
    """Applies to each scratch projection the events after what it has reached, up to its target."""
    reached = dict(reached)
    position, upto = min(reached.values()), max(targets.values())
    while position < upto:
        envelopes = reader.read(position, batch_size, upto=upto)
        if not envelopes:
            break
        with scratch.write() as conn:
            for name, target in targets.items():
                todo = [e for e in envelopes if reached[name] < e.position <= target]
                if todo:
                    projection = scratch.projections[name]
                    scratch.apply_to(conn, projection, scratch.tables(projection, 1), todo)
                    reached[name] = todo[-1].position
        position = envelopes[-1].position
    return reached


def _rows(conn: Connection, table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    keys = [column.name for column in table.primary_key.columns]
    return {tuple(row[k] for k in keys): dict(row) for row in conn.execute(select(table)).mappings()}


def _compare(
    projection: str, name: str, live_conn: Connection, live: Table, scratch_conn: Connection, rebuilt: Table
) -> list[Difference]:
    ours, theirs = _rows(live_conn, live), _rows(scratch_conn, rebuilt)
    differences: list[Difference] = []
    for key in sorted(ours.keys() | theirs.keys(), key=str):
        shown = "/".join(str(part) for part in key)
        if key not in theirs:
            differences.append(Difference(projection, name, shown, "(row)", "present", "absent"))
        elif key not in ours:
            differences.append(Difference(projection, name, shown, "(row)", "absent", "present"))
        else:
            for column, value in ours[key].items():
                if value != theirs[key][column]:
                    differences.append(
                        Difference(projection, name, shown, column, value, theirs[key][column])
                    )
    return differences
