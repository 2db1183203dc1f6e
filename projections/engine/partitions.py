"""Rebuilds split by aggregate. Every SQL read-model row is built from the events of one aggregate
only (an order's row from that order's events, a bot's from the bot's, a position's from the
position's), so the event store can be split by aggregate id into partitions whose rows never
overlap. Each partition is replayed in global order, on its own connections, and may run in its
own process: a rebuild then uses every core instead of one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from projections.engine.memory import collect_per_batch
from projections.engine.row_cache import RowCache

if TYPE_CHECKING:
    from projections.engine.read_models import ReadModels
    from projections.engine.reader import EventReader

Report = Callable[[int, int], None]  # (position reached, events applied so far)


@dataclass(frozen=True)
class Partition:
    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"partition {self.index} of {self.count} does not exist")


def fill_partition(
    reader: EventReader,
    read_models: ReadModels,
    names: Sequence[str],
    generations: Mapping[str, int],
    partition: Partition,
    upto: int,
    batch_size: int,
    report: Report,
    cache_rows: int = 100_000,
) -> int:
    """Applies this partition's events up to position ``upto`` to the given generations; returns
    how many it applied. Each batch is one transaction."""
    position, events, cache = 0, 0, RowCache(cache_rows)
    with collect_per_batch() as collect:
        while True:
            notifications = reader.partition_notifications(position, batch_size, upto, partition)
            if not notifications:
                break
            envelopes = [reader.decode(notification) for notification in notifications]
            del notifications
            with read_models.write(wait_for_flush=False) as conn:
                read_models.apply_to_generations(conn, names, generations, envelopes, cache)
            position, events = envelopes[-1].position, events + len(envelopes)
            del envelopes
            collect()
            report(position, events)
        with read_models.write(wait_for_flush=False) as conn:
            cache.write_all(read_models.writer(conn))
    return events
