"""`tbot serve`, `tbot users create`, `tbot keys create`."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
from collections.abc import Sequence
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console

from infrastructure.metrics_exposition import process_ended, share_between_processes
from infrastructure.ownership import LocalLocks
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.errors import clear_errors, fail_usage, report
from interfaces.http.app import create_app
from interfaces.process import prepare_process
from interfaces.server_processes import serve_in_processes
from interfaces.tables import prepare_tables
from interfaces.workers.projections import projection_worker
from interfaces.workers.supervisor import Supervisor
from interfaces.workers.threads import WorkerThreads
from projections.models.live import NAME as LIVE

users_app = typer.Typer(no_args_is_help=True, help="Users of the HTTP API.")
keys_app = typer.Typer(no_args_is_help=True, help="API keys (shown once, stored hashed).")
console = Console()


def prepared_container(container: Container | None = None) -> Container:
    """The container, with the tables in place: made here on the embedded default; on PostgreSQL
    they must exist already (`tbot db init`)."""
    container = container or Container()
    prepare_tables(container)
    return container


@clear_errors
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (TBOT_API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="port (TBOT_API_PORT)")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="API processes sharing the port (one core's worth each)")
    ] = 1,
) -> None:
    """Serve the HTTP API (commands, queries, live feed, health) with uvicorn. Without Redis the
    live model lives in each server process, so each keeps it up to date itself."""
    container = Container()
    with api_socket(container.settings(), host, port) as listener:
        prepared_container(container)  # the tables, once, before any server starts
        if workers == 1:
            _serve_one(container, listener)
            return
        container.store().close()
        container.shutdown_resources()  # no connection of this process is shared by its servers
        chosen = container.settings().observability.metrics_dir
        shared = share_between_processes(chosen)  # each server's /metrics adds up all of theirs
        try:
            status = serve_in_processes(
                workers, lambda: _serve_one(Container(), listener), report, on_end=process_ended
            )
        finally:
            if chosen is None:
                shutil.rmtree(shared, ignore_errors=True)
        if status:
            raise typer.Exit(status)


def _serve_one(container: Container, listener: socket.socket) -> None:
    if container.live_store().kind == "in-process":
        serve_app(container, listener, [projection_worker(container, [LIVE], locks=LocalLocks())])
    else:
        serve_app(container, listener)


serve_cli = typer.Typer()
serve_cli.command("serve")(serve)


def api_socket(settings: Settings, host: str | None, port: int | None) -> socket.socket:
    """The API's socket, bound and listening before the command writes anything, so a busy port
    ends it at once; the server is handed this socket, so nothing can take the port in between."""
    host, port = host or settings.api.host, port or settings.api.port
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as error:
        fail_usage(
            f"api_host: cannot resolve {host!r} ({error.strerror}); set it with --host or TBOT_API_HOST"
        )
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            fail_usage(
                f"api_port: port {port} on {host} is in use; choose another with --port or TBOT_API_PORT"
            )
        if error.errno == errno.EADDRNOTAVAIL:
            fail_usage(
                f"api_host: {host} is not an address of this machine; set it with --host or TBOT_API_HOST"
            )
        reason = os.strerror(error.errno) if error.errno else str(error)
        fail_usage(
            f"api_port: cannot listen on {host} port {port} ({reason}); "
            "choose another with --port or TBOT_API_PORT"
        )


def serve_app(container: Container, listener: socket.socket, workers: Sequence[Supervisor[Any]] = ()) -> None:
    """Serves on ``listener`` until stopped (SIGINT or SIGTERM, both a graceful shutdown that ends
    the command normally), with logs and traces set up from the settings, and runs the given
    workers meanwhile (their health is part of /health/ready)."""
    prepare_process(container.settings(), "tbot-api", metrics_endpoint=False)  # /metrics is the API's
    threads = WorkerThreads(workers)
    app = create_app(container)
    app.state.workers = threads
    app.router.lifespan_context = threads.around(app.router.lifespan_context)
    config = uvicorn.Config(
        app,
        log_level="warning",
        timeout_graceful_shutdown=10,
        ws_per_message_deflate=container.settings().feed.compression,
    )
    server = uvicorn.Server(config)
    # uvicorn raises the signal it stopped on again once it has shut down: SIGTERM too then
    # arrives as KeyboardInterrupt, which ends the command normally here
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        threads.stop()  # when the lifespan did not: a second Ctrl-C makes uvicorn skip it


@users_app.command("create")
@clear_errors
def users_create(
    user_id: Annotated[str, typer.Argument(help="the user's name")],
    role: Annotated[str, typer.Option(help="trader, auditor or admin")] = "trader",
    password: Annotated[
        str | None, typer.Option(help="for the token flow; prompted when --prompt-password is given")
    ] = None,
    prompt_password: Annotated[bool, typer.Option("--prompt-password")] = False,
) -> None:
    """Create a user."""
    if prompt_password:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    caller = prepared_container().identity().create_user(user_id, role, password)
    console.print(f"user {caller.user_id} created with role {caller.role.value}")


@keys_app.command("create")
@clear_errors
def keys_create(user_id: Annotated[str, typer.Argument(help="the key's user")]) -> None:
    """Create an API key for a user and print it: the only time it is shown."""
    key = prepared_container().identity().create_key(user_id)
    console.print(key, soft_wrap=True, highlight=False)
