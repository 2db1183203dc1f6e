"""What a store out of reach looks like, whichever library met it: the event store's
(eventsourcing wraps psycopg's errors, psycopg_pool's timeout among them), the read models'
(SQLAlchemy wraps its drivers') and Redis's (the adapters in infrastructure/read_store raise the
built-in ConnectionError or TimeoutError). One list, so that the API's 503, the workers' back-off
and the projections' retries agree on what is passing. It names no driver: the read side, which
may not reach one, uses it too."""

from __future__ import annotations

from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from sqlalchemy.exc import InterfaceError as ReadInterfaceError
from sqlalchemy.exc import OperationalError as ReadOperationalError

OUTAGES: tuple[type[Exception], ...] = (
    StoreOperationalError,
    StoreInterfaceError,
    ReadOperationalError,
    ReadInterfaceError,
    ConnectionError,  # refused, reset: Redis through our adapters, a socket's error through asyncpg
    TimeoutError,
)


def is_outage(error: BaseException) -> bool:
    return isinstance(error, OUTAGES)


def one_line(error: BaseException) -> str:
    """An error in one line: its type and its first line (a database error's SQL left out)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
