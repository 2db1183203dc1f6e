"""Where our schema-less tables live: the schema the engine maps them into with SQLAlchemy's
schema_translate_map (PostgreSQL), or none (SQLite); and names quoted for the raw SQL that needs it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection


def mapped_schema(execution_options: Mapping[str, Any]) -> str:
    """The PostgreSQL schema an engine's or connection's execution options map our tables into."""
    translate = execution_options.get("schema_translate_map") or {}
    return str(translate.get(None) or "public")


def schema_of(conn: Connection) -> str | None:
    """The schema the engine maps our tables into (None on SQLite)."""
    if conn.dialect.name == "sqlite":
        return None
    return mapped_schema(conn.get_execution_options())


def quoted(conn: Connection, name: str) -> str:
    schema = schema_of(conn)
    return f'"{name}"' if schema is None else f'"{schema}"."{name}"'
