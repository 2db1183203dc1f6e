"""Runs a rebuild's partitions in processes of their own (spawned, so each opens its own
connections), and gathers their progress. A partition that fails stops the rebuild with its error;
the half-filled generation is never swapped in."""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.queues import Queue
from queue import Empty
from typing import Any

from dependency_injector import providers

from infrastructure.settings import Settings
from interfaces.composition import Container
from projections.engine.partitions import Partition, fill_partition
from projections.engine.rebuild import Progress


class PartitionFailed(RuntimeError):
    """A partition's process ended without finishing its work."""


def default_processes(settings: Settings) -> int:
    return settings.projections.rebuild_processes or os.cpu_count() or 1


class ProcessPartitions:
    def __init__(self, settings: Settings, batch_size: int = 20_000, cache_rows: int = 100_000) -> None:
        self.settings = settings
        self.batch_size = batch_size
        self.cache_rows = cache_rows

    def __call__(
        self, names: list[str], generations: dict[str, int], upto: int, count: int, progress: Progress | None
    ) -> int:
        context = multiprocessing.get_context("spawn")
        messages: Queue[tuple[str, int, Any, int]] = context.Queue()
        processes = [
            context.Process(
                target=_fill,
                args=(
                    self.settings,
                    names,
                    generations,
                    Partition(i, count),
                    upto,
                    self.batch_size,
                    self.cache_rows,
                    messages,
                ),
                name=f"rebuild-partition-{i}",
                daemon=True,
            )
            for i in range(count)
        ]
        for process in processes:
            process.start()
        reached = dict.fromkeys(range(count), 0)
        applied: dict[int, int] = {}
        try:
            while len(applied) < count:
                try:
                    kind, index, detail, events = messages.get(timeout=1.0)
                except Empty:
                    self._check_alive(processes, applied)
                    continue
                if kind == "failed":
                    raise detail
                if kind == "done":
                    applied[index], reached[index] = events, upto
                else:
                    reached[index] = detail
                if progress is not None:
                    progress(min(reached.values()), upto)
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
                process.join()
        return sum(applied.values())

    @staticmethod
    def _check_alive(processes: list[Any], applied: dict[int, int]) -> None:
        for index, process in enumerate(processes):
            if index not in applied and process.exitcode is not None:
                raise PartitionFailed(f"rebuild partition {index} ended with exit code {process.exitcode}")


def _fill(
    settings: Settings,
    names: list[str],
    generations: dict[str, int],
    partition: Partition,
    upto: int,
    batch_size: int,
    cache_rows: int,
    messages: Queue[tuple[str, int, Any, int]],
) -> None:
    container = Container()
    container.settings.override(providers.Object(settings))
    try:
        events = fill_partition(
            container.reader(),
            container.read_models(),
            names,
            generations,
            partition,
            upto,
            batch_size,
            lambda position, events: messages.put(("progress", partition.index, position, events)),
            cache_rows,
        )
    except Exception as error:  # handed to the parent, which raises it
        messages.put(("failed", partition.index, error, 0))
        return
    finally:
        container.store().close()
    messages.put(("done", partition.index, upto, events))
