"""`tbot projections ...`, `tbot events replay` and `tbot audit ...`."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import text

from application.audit import replay, state_at
from application.errors import NotFound
from infrastructure.ownership import advisory_holders
from infrastructure.read_database import create_read_engine
from infrastructure.read_store.live_stores import RedisLiveStore
from interfaces.cli_options import parse_time
from interfaces.composition import Container, read_models_on
from interfaces.errors import clear_errors, fail_usage
from interfaces.process import prepare_process
from interfaces.rebuild_processes import ProcessPartitions, default_processes
from interfaces.workers.projection_lag import measure_projection_lag
from interfaces.workers.projections import projection_job
from interfaces.workers.supervisor import Supervisor
from interfaces.workers.threads import run_until_signalled
from projections.engine.rebuild import Rebuilder
from projections.engine.status import projection_status
from projections.engine.verify import verify
from projections.models.catalog import ALL_NAMES, SQL_NAMES, resolve
from projections.models.errors import UnknownProjection
from projections.models.live import NAME as LIVE
from projections.models.plain import event_payload, plain

projections_app = typer.Typer(no_args_is_help=True, help="Read models: run, inspect, rebuild.")
events_app = typer.Typer(no_args_is_help=True, help="The event store, read for audit.")
audit_app = typer.Typer(no_args_is_help=True, help="Audit: past states and read-model drift.")
console = Console()
errors = Console(stderr=True)


def _names(names: list[str] | None) -> list[str]:
    try:
        return resolve(names or [])
    except UnknownProjection as error:
        fail_usage(str(error))


@projections_app.command("run")
@clear_errors
def run(
    names: Annotated[
        list[str] | None, typer.Argument(help=f"projections to run: {', '.join(ALL_NAMES)}")
    ] = None,
) -> None:
    """Run projections until stopped; several workers share them (one holder per projection)."""
    chosen = _names(names)
    container = Container()
    container.read_models().check_installed()
    prepare_process(container.settings(), "tbot-projections")
    measure_projection_lag(container, chosen)  # read when the worker's /metrics is scraped
    job = projection_job(container, chosen)
    console.print(f"projection worker for {', '.join(chosen)}")
    run_until_signalled([Supervisor(job)])
    if job.failed:
        for message in job.failed.values():
            errors.print(message)
        raise typer.Exit(1)


@projections_app.command("status")
@clear_errors
def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON document: a list with an object per projection")
    ] = False,
) -> None:
    """Each projection's position, lag in events and seconds, backend, holder, and the error that
    stopped it (or that its last batch met), if any."""
    container = Container()
    read_models = container.read_models()
    live_store = container.live_store() if container.settings().redis.url is not None else None
    holders: dict[str, str] = {}
    if container.settings().store.backend == "postgres":
        with read_models.engine.connect() as conn:
            holders = {name: f"pid {pid}" for name, pid in advisory_holders(conn, ALL_NAMES).items()}
    rows = projection_status(
        container.reader(), read_models, ALL_NAMES, container.clock().now(), holders, live_store
    )
    if as_json:
        typer.echo(json.dumps([{**vars(row), "lag_events": row.lag_events} for row in rows], indent=2))
        return
    table = Table(title=f"projections (event store head {rows[0].head if rows else 0})")
    for column in ("projection", "position", "lag events", "lag s", "backend", "gen", "run by", "error"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.name,
            str(row.position),
            str(row.lag_events),
            "?" if row.lag_seconds is None else f"{row.lag_seconds:.1f}",
            row.backend,
            str(row.generation),
            row.holder,
            row.error or "",
        )
    console.print(table)


@projections_app.command("rebuild")
@clear_errors
def rebuild(
    names: Annotated[list[str] | None, typer.Argument(help="projections to rebuild")] = None,
    all_: Annotated[bool, typer.Option("--all", help="rebuild every projection")] = False,
) -> None:
    """Rebuild from the event store into fresh tables, swap them in atomically, catch up."""
    if not names and not all_:
        fail_usage("name a projection to rebuild, or pass --all")
    chosen = _names(None if all_ else names)
    container = Container()
    read_models = container.read_models()
    read_models.check_installed()
    live_store = container.live_store()
    rebuilder = Rebuilder(
        container.reader(),
        read_models,
        live=container.live_projection(),
        live_store=live_store if isinstance(live_store, RedisLiveStore) else None,
        now=container.clock().now,
        partitions=ProcessPartitions(container.settings()),
        processes=default_processes(container.settings()),
    )
    if LIVE in chosen and not isinstance(live_store, RedisLiveStore):
        console.print("the in-process live model is rebuilt whenever its process starts; skipped")
        chosen.remove(LIVE)
    head = container.reader().head()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"rebuilding {', '.join(chosen)}", total=head or 1)
        report = rebuilder.rebuild(chosen, lambda position, _: progress.update(task, completed=position))
    console.print(
        f"rebuilt {', '.join(report.names)}: {report.events} events in {report.seconds:.1f} s "
        f"({report.events_per_second:,.0f} events/s); swapped in at position {report.position}"
    )


@events_app.command("replay")
@clear_errors
def events_replay(
    aggregate: Annotated[
        UUID | None, typer.Option("--aggregate", help="only this aggregate's events")
    ] = None,
    from_: Annotated[int, typer.Option("--from", min=0, help="start after this position")] = 0,
    to: Annotated[int | None, typer.Option("--to", min=1, help="stop at this position")] = None,
    until: Annotated[str | None, typer.Option("--until", help="stop after this time (ISO 8601)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """The events in global order with position, aggregate, version, time, type, metadata, payload."""
    moment = parse_time(until, "--until")
    store = Container().store()
    table = Table("position", "aggregate", "ver", "time", "type", "actor", "correlation", "payload")
    for recorded in replay(store, aggregate_id=aggregate, after=from_, upto=to, until=moment):
        event: Any = recorded.event
        line = {
            "position": recorded.position,
            "aggregate_id": str(event.originator_id),
            "version": event.originator_version,
            "at": event.timestamp.isoformat(),
            "type": type(event).__qualname__,
            "actor": event.meta.actor,
            "correlation_id": event.meta.correlation_id,
            "causation_id": event.meta.causation_id,
            "payload": event_payload(event),
        }
        if as_json:
            typer.echo(json.dumps(line))
        else:
            shown = [str(line[k]) for k in ("position", "aggregate_id", "version", "at", "type", "actor")]
            table.add_row(*shown, str(line["correlation_id"]), json.dumps(line["payload"]))
    if not as_json:
        console.print(table)


@audit_app.command("state")
@clear_errors
def audit_state(
    aggregate_id: Annotated[UUID, typer.Argument(help="a bot, order or position id")],
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="the state after this version")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="the state as it stood at this time (ISO 8601)")
    ] = None,
) -> None:
    """An aggregate's state as it was at a version or a time (now, without either)."""
    if version is not None and at is not None:
        fail_usage("give --version or --at, not both")
    moment = parse_time(at, "--at")
    store = Container().store()
    try:
        aggregate = state_at(store, aggregate_id, version=version, at=moment)
    except NotFound as error:
        errors.print(str(error))
        raise typer.Exit(1) from None
    typer.echo(json.dumps(aggregate_document(aggregate), indent=2, sort_keys=True))


def aggregate_document(aggregate: Any) -> dict[str, Any]:
    state = {name: value for name, value in vars(aggregate).items() if not name.startswith("_")}
    return {
        "type": type(aggregate).__name__,
        "id": str(aggregate.id),
        "version": aggregate.version,
        "created_on": aggregate.created_on.isoformat(),
        "modified_on": aggregate.modified_on.isoformat(),
        "state": plain(state),
    }


@audit_app.command("verify")
@clear_errors
def audit_verify() -> None:
    """Rebuild every projection into a scratch schema and compare with the live tables."""
    container = Container()
    settings = container.settings()
    live = container.read_models()
    live.check_installed()
    scratch_schema = f"tbot_verify_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as scratch_dir:
        if settings.store.backend == "postgres":
            with live.engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{scratch_schema}"'))
            scratch_engine = create_read_engine(settings, schema=scratch_schema)
        else:
            scratch_store = settings.store.model_copy(
                update={"read_sqlite_path": Path(scratch_dir) / "verify.sqlite3"}
            )
            scratch_settings = settings.model_copy(update={"store": scratch_store})
            scratch_engine = create_read_engine(scratch_settings)
        try:
            scratch = read_models_on(scratch_engine)
            scratch.install()
            differences = verify(container.reader(), live, scratch, SQL_NAMES)
        finally:
            scratch_engine.dispose()
            if settings.store.backend == "postgres":
                with live.engine.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{scratch_schema}" CASCADE'))
    if not differences:
        console.print(f"no drift: {', '.join(SQL_NAMES)} equal a fresh rebuild")
        return
    for difference in differences[:200]:
        typer.echo(str(difference))
    errors.print(f"drift: {len(differences)} difference(s) between the live read models and the events")
    raise typer.Exit(1)
