"""Who may do what: traders act on their own bots only, auditors read everything and change
nothing, admins do both. Anything a caller may not read is answered as not found.

One rule decides whether a caller may see or act on a bot: ``Caller.may_read_owner`` (and its
form as a filter, ``Caller.only_owner``). ``check_bot`` applies it to a bot whose owner it looks up
through the ``BotOwners`` port: in the aggregate store for the commands (``StoreOwners``), in the
read models for the queries (projections.queries.ReadModelOwners)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
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

    @property
    def only_owner(self) -> str | None:
        """The one owner whose bots this caller may see; None when they may see every bot."""
        return None if self.reads_everything else self.user_id

    def may_read_owner(self, owner: str) -> bool:
        """Whether this caller may see (and, if they may write, act on) a bot of this owner."""
        return self.only_owner is None or owner == self.only_owner


class Forbidden(Exception):
    """The caller's role does not allow this kind of request at all."""


def require_writer(caller: Caller) -> None:
    if not caller.may_write:
        raise Forbidden(f"role {caller.role.value} may read but not change anything")


class BotOwners(Protocol):
    def owner_of(self, bot_id: UUID) -> str | None:
        """Who owns the bot; None when there is no such bot."""
        ...


class StoreOwners:
    """Bots' owners as the aggregate store has them: what the commands act on."""

    def __init__(self, store: TradingApplication) -> None:
        self.store = store

    def owner_of(self, bot_id: UUID) -> str | None:
        bot = self.store.find(Bot, bot_id, read_only=True)
        return None if bot is None else bot.owner


def may_see_bot(owners: BotOwners, caller: Caller, bot_id: UUID) -> bool:
    """Whether the bot exists and this caller may see it (and act on it, if they may write)."""
    owner = owners.owner_of(bot_id)
    return owner is not None and caller.may_read_owner(owner)


def check_bot(owners: BotOwners, caller: Caller, bot_id: UUID) -> None:
    """NotFound unless this caller may see the bot (never say whose it is)."""
    if not may_see_bot(owners, caller, bot_id):
        raise NotFound("bot", bot_id)


def check_order(store: TradingApplication, caller: Caller, order_id: UUID) -> Order:
    """The order, if this caller may see its bot; otherwise NotFound naming the order."""
    order = store.find(Order, order_id, read_only=True)
    if order is None or not may_see_bot(StoreOwners(store), caller, order.bot_id):
        raise NotFound("order", order_id)
    return order
