"""Replays allocate millions of short-lived objects; the cyclic garbage collector's automatic passes
over them cost more than the decoding itself. While a replay runs, the objects that already exist
are frozen out of collection and collection happens once per batch instead."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def collect_young() -> None:
    gc.collect(1)


@contextmanager
def collect_per_batch() -> Iterator[Callable[[], None]]:
    """Yields the function to call after each batch: it collects the young generations only, so
    its cost follows the batch, not the rows kept between batches; the rest is collected once the
    replay is over."""
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield collect_young
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()
        gc.collect()
