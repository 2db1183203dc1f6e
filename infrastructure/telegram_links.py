"""Which Telegram chats the Telegram bot listens to (`tbot telegram link-signals|link-owner|unlink|
links`): a chat linked to a tbot bot as its signal source (its posts become that bot's signals), or
a private chat linked to a tbot user as that user's owner chat (commands). One link per chat; the
table lives in the read-side database, made by `tbot db init`, and is never part of a rebuild."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    MetaData,
    Row,
    String,
    Table,
    Uuid,
    delete,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

METADATA = MetaData()
TELEGRAM_LINKS = Table(
    "telegram_links",
    METADATA,
    Column("chat_id", BigInteger, primary_key=True),
    Column("kind", String, nullable=False),
    Column("bot_id", Uuid),
    Column("user_id", String),
    Column("linked_at", DateTime(timezone=True), nullable=False),
)
MAX_CHAT_ID = 10**15
"""Telegram's chat ids fit in 52 bits (channels and supergroups: -100 followed by the id)."""


class LinkKind(StrEnum):
    SIGNALS = "signals"
    OWNER = "owner"


@dataclass(frozen=True)
class TelegramLink:
    chat_id: int
    kind: LinkKind
    bot_id: UUID | None
    user_id: str | None
    linked_at: datetime


class TelegramLinks:
    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self.now = now

    def install(self) -> None:
        METADATA.create_all(self.engine)

    def link_signals(self, chat_id: int, bot_id: UUID) -> TelegramLink:
        return self._put(TelegramLink(chat_id, LinkKind.SIGNALS, bot_id, None, self.now()))

    def link_owner(self, chat_id: int, user_id: str) -> TelegramLink:
        return self._put(TelegramLink(chat_id, LinkKind.OWNER, None, user_id, self.now()))

    def unlink(self, chat_id: int) -> bool:
        """Whether the chat had a link."""
        with self.engine.begin() as conn:
            return (
                conn.execute(delete(TELEGRAM_LINKS).where(TELEGRAM_LINKS.c.chat_id == chat_id)).rowcount > 0
            )

    def link(self, chat_id: int) -> TelegramLink | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(TELEGRAM_LINKS).where(TELEGRAM_LINKS.c.chat_id == chat_id)).first()
        return None if row is None else _link(row)

    def all(self) -> list[TelegramLink]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(TELEGRAM_LINKS).order_by(TELEGRAM_LINKS.c.chat_id)).all()
        return [_link(row) for row in rows]

    def _put(self, link: TelegramLink) -> TelegramLink:
        """The chat's link, replacing any it had."""
        row = {
            "chat_id": link.chat_id,
            "kind": link.kind.value,
            "bot_id": link.bot_id,
            "user_id": link.user_id,
            "linked_at": link.linked_at,
        }
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(TELEGRAM_LINKS).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=[TELEGRAM_LINKS.c.chat_id],
            set_={name: statement.excluded[name] for name in ("kind", "bot_id", "user_id", "linked_at")},
        )
        with self.engine.begin() as conn:
            conn.execute(statement)
        return link


def _link(row: Row[Any]) -> TelegramLink:
    return TelegramLink(int(row.chat_id), LinkKind(row.kind), row.bot_id, row.user_id, row.linked_at)
