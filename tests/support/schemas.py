"""A fresh PostgreSQL schema for a test or a benchmark, dropped afterwards whatever happens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from pydantic import SecretStr

from infrastructure.settings import Settings, StoreSettings


@contextmanager
def fresh_schema(database_url: str, prefix: str = "t", **store: Any) -> Iterator[Settings]:
    """Settings on a schema of their own in ``database_url``; ``store``: more of their store's fields."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield Settings(
            store=StoreSettings(database_url=SecretStr(database_url), postgres_schema=schema, **store)
        )
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
