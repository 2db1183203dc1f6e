"""`tbot serve`, `tbot users create`, `tbot keys create`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Annotated, Protocol

import typer
import uvicorn
from rich.console import Console

from infrastructure.event_store import create_tables
from infrastructure.logging import configure_logging
from infrastructure.tracing import configure_tracing
from interfaces.errors import clear_errors
from interfaces.http.app import create_app
from interfaces.http.container import HttpContainer
from interfaces.read_side import build_worker
from interfaces.worker_tables import install_worker_tables
from projections.live import NAME as LIVE
from projections.locks import LocalLocks

users_app = typer.Typer(no_args_is_help=True, help="Users of the HTTP API.")
keys_app = typer.Typer(no_args_is_help=True, help="API keys (shown once, stored hashed).")
console = Console()


def prepared_container() -> HttpContainer:
    """The container, with the tables in place: made here on the embedded default; on PostgreSQL
    they must exist already (`tbot db init`)."""
    container = HttpContainer()
    settings = container.settings()
    if settings.backend == "sqlite":
        create_tables(settings)
        container.read_models().install()
        install_worker_tables(container.read_engine())
    else:
        container.read_models().check_installed()
    container.identity().install()
    return container


@clear_errors
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (TBOT_API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="port (TBOT_API_PORT)")] = None,
) -> None:
    """Serve the HTTP API (commands, queries, live feed, health) with uvicorn. Without Redis the
    live model lives in this process, so this process keeps it up to date itself."""
    container = prepared_container()
    if container.live_store().kind == "in-process":
        serve_app(container, port, host, [("live", build_worker(container, [LIVE], locks=LocalLocks()))])
    else:
        serve_app(container, port, host)


class Worker(Protocol):
    def run(self) -> None: ...

    def stop(self) -> None: ...


def serve_app(
    container: HttpContainer,
    port: int | None = None,
    host: str | None = None,
    workers: Sequence[tuple[str, Worker]] = (),
) -> None:
    """Serves until stopped (SIGINT or SIGTERM), with logs and traces set up from the settings,
    and runs the given workers, each in a thread of its own, meanwhile."""
    settings = container.settings()
    configure_logging(settings.log_format, settings.log_level)
    configure_tracing(settings, "tbot-api")
    app = create_app(container)
    threads = [threading.Thread(target=worker.run, name=name, daemon=True) for name, worker in workers]
    for thread in threads:
        thread.start()
    try:
        uvicorn.run(app, host=host or settings.api_host, port=port or settings.api_port, log_level="warning")
    finally:
        for _, worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(timeout=10)


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
