"""The SQL read models of a database: their tracking rows, their tables per generation, the views
queries read through, and the transaction that applies a batch of events to several of them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.schema import CreateTable

from infrastructure.columns import UtcTime
from infrastructure.read_store.schemas import quoted, schema_of
from projections.engine.batch import Batch
from projections.engine.errors import ReadModelsMissing
from projections.engine.row_cache import RowCache
from projections.models.base import Projection
from projections.models.envelope import Envelope
from projections.ports import Partitioner, RowWriter, RowWriters, TimeSeries, TimeSeriesDetector

TRACKING = Table(
    "projection_tracking",
    MetaData(),
    Column("name", String, primary_key=True),
    Column("generation", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UtcTime),
    Column("error", String),
)


@dataclass(frozen=True)
class Tracking:
    name: str
    generation: int
    position: int
    updated_at: datetime | None
    error: str | None


class _NotYetPartitioned:
    """The partitions of a database whose time-series backend is not known yet: none."""

    def ensure(self, conn: Connection, table: Table, times: list[datetime]) -> None:
        pass

    def committed(self) -> None:
        pass

    def rolled_back(self) -> None:
        pass


class ReadModels:
    """``writers`` and ``time_series`` are the read database's adapters (projections/ports.py):
    how rows are written in bulk and how time-series tables are kept."""

    def __init__(
        self,
        engine: Engine,
        projections: Sequence[Projection],
        writers: RowWriters,
        time_series: TimeSeriesDetector,
    ) -> None:
        self.engine = engine
        self.projections = {p.name: p for p in projections}
        self.writers = writers
        self._detect = time_series
        self._tables: dict[tuple[str, int], dict[str, Table]] = {}
        self._backend: TimeSeries | None = None
        self.partitions: Partitioner = _NotYetPartitioned()

    @property
    def backend(self) -> TimeSeries:
        """TimescaleDB, plain PostgreSQL partitions or SQLite: detected once, on first use."""
        if self._backend is None:
            with self.engine.begin() as conn:
                self._set_backend(self._detect(conn))
        assert self._backend is not None
        return self._backend

    def writer(self, conn: Connection) -> RowWriter:
        """Writes rows in bulk in this connection's transaction."""
        return self.writers(conn)

    # -- set-up ------------------------------------------------------------------------------

    def install(self) -> TimeSeries:
        """Creates the tracking table and generation 1 of every projection not yet installed;
        safe to repeat. Returns the time-series backend in use."""
        with self.write() as conn:
            schema = schema_of(conn)
            if schema is not None:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            backend = self._detect(conn)
            self._set_backend(backend)
            TRACKING.create(conn, checkfirst=True)
            installed = {row.name for row in conn.execute(select(TRACKING.c.name))}
            for name, projection in self.projections.items():
                if name in installed:
                    continue
                self.create_generation(conn, projection, 1)
                self.point_views(conn, projection, 1)
                conn.execute(insert(TRACKING).values(name=name, generation=1, position=0))
        return backend

    def check_installed(self) -> TimeSeries:
        with self.engine.connect() as conn:
            if not inspect(conn).has_table(TRACKING.name, schema=schema_of(conn)):
                raise ReadModelsMissing("the read models are not installed: run `tbot db init` first")
            backend = self._detect(conn)
        self._set_backend(backend)
        return backend

    def _set_backend(self, backend: TimeSeries) -> None:
        if self._backend is not backend:
            self._backend = backend
            self.partitions = backend.partitions()

    def tables(self, projection: Projection, generation: int) -> dict[str, Table]:
        key = (projection.name, generation)
        if key not in self._tables:
            tables = projection.define(MetaData(), f"_g{generation}")
            for name, column in projection.time_columns.items():
                self.backend.prepare(tables[name], column)
            self._tables[key] = tables
        return self._tables[key]

    def create_generation(
        self, conn: Connection, projection: Projection, generation: int, indexes: bool = True
    ) -> None:
        """Creates a generation's tables; without their secondary indexes if ``indexes`` is False
        (a rebuild loads the rows first and indexes them once at the end, which is far cheaper
        than keeping the indexes up to date row by row)."""
        self.drop_generation(conn, projection, generation)
        tables = self.tables(projection, generation)
        for name, table in tables.items():
            conn.execute(CreateTable(table))
            if name in projection.time_columns:
                self.backend.after_create(conn, table, projection.time_columns[name])
        if indexes:
            self.create_indexes(conn, projection, generation)

    def create_indexes(self, conn: Connection, projection: Projection, generation: int) -> None:
        for table in self.tables(projection, generation).values():
            for index in sorted(table.indexes, key=lambda index: str(index.name)):
                index.create(conn, checkfirst=True)

    def drop_generation(self, conn: Connection, projection: Projection, generation: int) -> None:
        for table in self.tables(projection, generation).values():
            conn.execute(text(f"DROP TABLE IF EXISTS {quoted(conn, table.name)}"))

    def point_views(self, conn: Connection, projection: Projection, generation: int) -> None:
        """Points the public views at a generation's tables, inside the caller's transaction."""
        tables = self.tables(projection, generation)
        for name in projection.public:
            view, source = quoted(conn, name), quoted(conn, tables[name].name)
            if conn.dialect.name == "sqlite":
                conn.execute(text(f"DROP VIEW IF EXISTS {view}"))
                conn.execute(text(f"CREATE VIEW {view} AS SELECT * FROM {source}"))
            else:
                conn.execute(text(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {source}"))

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def write(self, wait_for_flush: bool = True) -> Iterator[Connection]:
        """A read-model write transaction (SQLite takes its write lock at the start). Without
        ``wait_for_flush``, PostgreSQL acknowledges the commit before its WAL reaches the disk: for
        work that is thrown away anyway if the process dies (a rebuild's unswapped tables)."""
        with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
            try:
                with conn.begin():
                    if not wait_for_flush and conn.dialect.name == "postgresql":
                        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                    yield conn
            except BaseException:
                self.partitions.rolled_back()
                raise
            self.partitions.committed()

    def tracking(
        self, conn: Connection, names: Sequence[str] | None = None, lock: bool = False
    ) -> list[Tracking]:
        query = select(TRACKING).order_by(TRACKING.c.name)
        if names is not None:
            query = query.where(TRACKING.c.name.in_(list(names)))
        if lock and conn.dialect.name != "sqlite":
            query = query.with_for_update()
        return [Tracking(**row) for row in conn.execute(query).mappings()]

    def apply(self, conn: Connection, track: Tracking, envelopes: Sequence[Envelope], now: datetime) -> None:
        """Applies the events after the projection's position and moves its position to the last
        one, in the caller's transaction; clears the error recorded of an earlier failure."""
        projection = self.projections[track.name]
        todo = [e for e in envelopes if e.position > track.position]
        if not todo:
            if track.error is not None:
                conn.execute(update(TRACKING).where(TRACKING.c.name == track.name).values(error=None))
            return
        self.apply_to(conn, projection, self.tables(projection, track.generation), todo)
        conn.execute(
            update(TRACKING)
            .where(TRACKING.c.name == track.name)
            .values(position=todo[-1].position, updated_at=now, error=None)
        )

    def apply_to(
        self,
        conn: Connection,
        projection: Projection,
        tables: Mapping[str, Table],
        envelopes: Sequence[Envelope],
        cache: RowCache | None = None,
    ) -> None:
        batch = Batch(conn, tables, self.partitions, self.writers, cache)
        projection.apply(batch, envelopes)
        batch.flush(projection.time_columns)

    def apply_to_generations(
        self,
        conn: Connection,
        names: Sequence[str],
        generations: Mapping[str, int],
        envelopes: Sequence[Envelope],
        cache: RowCache | None = None,
    ) -> None:
        """Applies the events to the given generation of each projection, in the caller's
        transaction. Only a process that alone writes those generations may pass a cache."""
        for name in names:
            projection = self.projections[name]
            self.apply_to(conn, projection, self.tables(projection, generations[name]), envelopes, cache)
        if cache is not None:
            cache.trim(self.writer(conn))

    def record_error(self, name: str, error: str) -> None:
        with self.write() as conn:
            conn.execute(update(TRACKING).where(TRACKING.c.name == name).values(error=error))
