"""Keyset pagination of the query API's lists (the keysets and the statements are
projections/queries.py's). A cursor is opaque to clients: the base64url of the JSON list of the
last row's key values. It is read back by the types the list declares for its key
(the column types' own ``python_type`` is no guide: it is ``object`` for the UTC time type), so a
cursor that does not decode to this list's key is refused, naming ``query.cursor``."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection

from application.errors import InvalidInput
from domain.params import MAX_INTEGER
from projections.queries import in_order

EventPosition = Annotated[int, Field(strict=True, ge=0, le=MAX_INTEGER)]


@dataclass(frozen=True)
class Keyset:
    """The columns a list is sorted by, ascending and unique together (times first, then an id to
    break their ties), and a reader of their values as a cursor holds them."""

    columns: Sequence[Any]
    values: TypeAdapter[Any]

    @classmethod
    def of(cls, values: Any, *columns: Any) -> Keyset:
        """``values``: the tuple type of the key, e.g. ``tuple[Moment, UUID]``."""
        return cls(columns, TypeAdapter(values))

    def encode(self, row: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(
            self.values.dump_json(tuple(row[c.name] for c in self.columns))
        ).decode()

    def decode(self, cursor: str) -> Sequence[Any]:
        try:
            values: Sequence[Any] = self.values.validate_json(base64.urlsafe_b64decode(cursor.encode()))
        except ValueError as error:  # not base64, not JSON, or not this list's key
            raise InvalidInput("query.cursor", "is not a cursor this API gave out") from error
        return values


async def page(
    conn: AsyncConnection,
    query: Select[Any],
    keys: Keyset,
    limit: int,
    cursor: str | None,
    model: type[BaseModel],
) -> dict[str, Any]:
    """One page of ``query`` in key order, after ``cursor``: stable under concurrent inserts."""
    after = None if cursor is None else keys.decode(cursor)
    query = in_order(query, keys.columns, after).limit(limit + 1)
    rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [model.model_validate(r) for r in rows],
        "next_cursor": keys.encode(rows[-1]) if more else None,
    }
