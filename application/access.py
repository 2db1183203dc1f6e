"""Who may do what: traders act on their own bots only, auditors read everything and change
nothing, admins do both. Anything a caller may not read is answered as not found."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from application.errors import NotFound
from application.store import TradingApplication
from domain.bot import Bot
from domain.ids import UserId
from domain.order import Order


class Role(StrEnum):
    TRADER = "trader"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Caller:
    user_id: UserId
    role: Role

    @property
    def reads_everything(self) -> bool:
        return self.role in (Role.AUDITOR, Role.ADMIN)

    @property
    def may_write(self) -> bool:
        return self.role in (Role.TRADER, Role.ADMIN)

    def may_read_owner(self, owner: str) -> bool:
        return self.reads_everything or owner == self.user_id


class Forbidden(Exception):
    """The caller's role does not allow this kind of request at all."""


def require_writer(caller: Caller) -> None:
    if not caller.may_write:
        raise Forbidden(f"role {caller.role.value} may read but not change anything")


def check_bot(store: TradingApplication, caller: Caller, bot_id: UUID) -> Bot:
    """The bot, if this caller may act on it; otherwise NotFound (never say whose it is)."""
    bot = store.find(Bot, bot_id, read_only=True)
    if bot is None or not caller.may_read_owner(bot.owner):
        raise NotFound("bot", bot_id)
    return bot


def check_order(store: TradingApplication, caller: Caller, order_id: UUID) -> Order:
    order = store.find(Order, order_id, read_only=True)
    if order is None:
        raise NotFound("order", order_id)
    bot = store.find(Bot, order.bot_id, read_only=True)
    if bot is None or not caller.may_read_owner(bot.owner):
        raise NotFound("order", order_id)
    return order
