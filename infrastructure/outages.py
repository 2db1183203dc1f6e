"""What a store out of reach looks like, whichever library met it: the event store's
(eventsourcing over psycopg), the read models' (SQLAlchemy over psycopg, asyncpg or sqlite3) and
Redis's. One list, so that the API's 503, the workers' back-off and the projections' retries
agree on what is passing."""

from __future__ import annotations

import psycopg
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError as ReadInterfaceError
from sqlalchemy.exc import OperationalError as ReadOperationalError

OUTAGES: tuple[type[Exception], ...] = (
    StoreOperationalError,
    StoreInterfaceError,
    ReadOperationalError,
    ReadInterfaceError,
    psycopg.OperationalError,  # psycopg_pool's PoolTimeout too
    psycopg.InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,  # refused, reset: a driver that lets the socket's error through (asyncpg)
    TimeoutError,
)


def is_outage(error: BaseException) -> bool:
    return isinstance(error, OUTAGES)


def one_line(error: BaseException) -> str:
    """An error in one line: its type and its first line (a database error's SQL left out)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
