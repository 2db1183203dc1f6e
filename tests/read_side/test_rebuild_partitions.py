"""Rebuilds split by aggregate into processes, and rebuilds whose row cache overflows, end with
exactly the rows the live worker built; a partition that fails stops the rebuild with its error
and nothing is swapped in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infrastructure.event_store import open_store
from infrastructure.settings import Settings
from interfaces.rebuild_processes import ProcessPartitions
from projections.engine.rebuild import Rebuilder
from projections.models.catalog import SQL_NAMES
from projections.models.errors import ProjectionStopped
from tests.support.alien import alien
from tests.support.generate import Generator
from tests.support.read_side import ReadSide, read_side_on

pytestmark = pytest.mark.postgres


@pytest.fixture
def read_side(postgres_redis_settings: Settings) -> Iterator[ReadSide]:
    with read_side_on(postgres_redis_settings) as rs:
        yield rs


def _all_rows(rs: ReadSide) -> dict[str, list[dict[str, Any]]]:
    """Every table of every SQL projection, through its column types, in primary-key order."""
    found: dict[str, list[dict[str, Any]]] = {}
    with rs.read_models.engine.connect() as conn:
        generations = {t.name: t.generation for t in rs.read_models.tracking(conn)}
        for name in SQL_NAMES:
            projection = rs.read_models.projections[name]
            for table in rs.read_models.tables(projection, generations[name]).values():
                query = table.select().order_by(*table.primary_key.columns)
                found[table.name.rsplit("_g", 1)[0]] = [dict(row) for row in conn.execute(query).mappings()]
    return found


def _generate(settings: Settings, events: int) -> None:
    store = open_store(settings)
    Generator(store, bots=9, seed=11).run(events, per_transaction=200)
    store.close()


def test_a_rebuild_in_two_processes_with_a_small_row_cache_builds_the_rows_the_worker_built(
    postgres_redis_settings: Settings, read_side: ReadSide
) -> None:
    _generate(postgres_redis_settings, 6_000)
    assert read_side.catch_up(SQL_NAMES) == {}
    built_live = _all_rows(read_side)
    assert len(built_live["orders"]) > 500 and len(built_live["fills"]) > 500

    rebuilder = Rebuilder(
        read_side.reader,
        read_side.read_models,
        partitions=ProcessPartitions(postgres_redis_settings, batch_size=700, cache_rows=40),
        processes=2,
        min_events_per_process=1,
    )
    seen: list[int] = []
    report = rebuilder.rebuild(SQL_NAMES, lambda position, head: seen.append(position))

    assert report.events == read_side.reader.head() == report.position
    assert seen == sorted(seen) and seen[-1] == report.position
    assert _all_rows(read_side) == built_live
    with read_side.read_models.engine.connect() as conn:
        assert {t.generation for t in read_side.read_models.tracking(conn, SQL_NAMES)} == {2}


def test_a_rebuild_in_one_process_whose_row_cache_overflows_builds_the_rows_the_worker_built(
    postgres_redis_settings: Settings, read_side: ReadSide
) -> None:
    _generate(postgres_redis_settings, 3_000)
    assert read_side.catch_up(SQL_NAMES) == {}
    built_live = _all_rows(read_side)

    report = Rebuilder(read_side.reader, read_side.read_models, batch_size=300, cache_rows=25).rebuild(
        SQL_NAMES
    )

    assert report.events == read_side.reader.head()
    assert _all_rows(read_side) == built_live


def test_a_failing_partition_stops_the_rebuild_with_the_event_named_and_swaps_nothing_in(
    postgres_redis_settings: Settings, read_side: ReadSide
) -> None:
    _generate(postgres_redis_settings, 2_000)
    store = open_store(postgres_redis_settings)
    store.save(alien())
    unknown = store.last_position()
    store.close()
    rebuilder = Rebuilder(
        read_side.reader,
        read_side.read_models,
        partitions=ProcessPartitions(postgres_redis_settings, batch_size=500),
        processes=2,
        min_events_per_process=1,
    )

    with pytest.raises(ProjectionStopped) as stopped:
        rebuilder.rebuild(["orders"])

    assert stopped.value.position == unknown
    assert f"stopped at event #{unknown} (Alien.Landed)" in str(stopped.value)
    with read_side.read_models.engine.connect() as conn:
        assert [(t.generation, t.position) for t in read_side.read_models.tracking(conn, ["orders"])] == [
            (1, 0)
        ]
