"""A fresh PostgreSQL schema for a test or a benchmark, dropped afterwards whatever happens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from infrastructure.settings import Settings


@contextmanager
def fresh_schema(database_url: str, prefix: str = "t", **settings: Any) -> Iterator[Settings]:
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield Settings(_env_file=None, DATABASE_URL=database_url, POSTGRES_SCHEMA=schema, **settings)  # type: ignore[call-arg]
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
