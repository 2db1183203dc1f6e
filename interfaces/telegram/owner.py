"""What an owner chat may ask: `/status`, `/positions`, `/pnl` read from the read models as the query
API reads them (a trader sees their own bots, an auditor or admin every bot); `/pause`, `/resume`
and `/kill` go through the command bus with the API's permissions (the writer rule, then the bot's
owner). Synchronous: the Telegram bot calls it in a thread. Every answer is plain text."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import Engine

from application import commands as c
from application.access import Caller, StoreOwners, check_bot
from application.errors import DomainError, IllegalTransition, InvalidInput, NotFound
from application.results import Ack
from application.store import TradingApplication
from domain.bot import Bot
from domain.position_math import PositionState
from infrastructure.identity import IdentityStore
from projections import queries

HELP = (
    "Commands: /status, /positions, /pnl, /pause <bot>, /resume <bot>, /kill <bot>. "
    "Name a bot by its id or the start of its name."
)
KILL_REASON = "kill switch tripped from Telegram"


class Dispatcher(Protocol):
    def dispatch(self, command: Any) -> Any: ...


def plain(value: Decimal | None) -> str:
    """A decimal in plain notation without trailing zeros (``0.5``, ``60000``)."""
    if value is None:
        return "n/a"
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class _Action:
    command: Callable[..., c.BotCommand]
    done: str
    verb: str


_ACTIONS = {
    "/pause": _Action(c.PauseBot, "paused", "pause"),
    "/resume": _Action(c.ResumeBot, "resumed", "resume"),
    "/kill": _Action(lambda **kw: c.TripKillSwitch(reason=KILL_REASON, **kw), "kill switch tripped", "kill"),
}


class _Refused(Exception):
    """An answer to give instead of acting."""


class OwnerDesk:
    def __init__(
        self, bus: Dispatcher, store: TradingApplication, read_engine: Engine, identity: IdentityStore
    ) -> None:
        self.bus = bus
        self.store = store
        self.read_engine = read_engine
        self.identity = identity

    def answer(self, user_id: str, text: str, correlation_id: str = "") -> str:
        """The reply to ``text`` from the owner chat of ``user_id``."""
        caller = self.identity.user(user_id)
        if caller is None:
            return f"This chat is linked to the user {user_id}, who does not exist any more."
        word, _, rest = text.strip().partition(" ")
        name = word.split("@", 1)[0].lower()
        try:
            if name == "/status":
                return self.status(caller)
            if name == "/positions":
                return self.positions(caller)
            if name == "/pnl":
                return self.pnl(caller)
            if name in _ACTIONS:
                return self.act(caller, _ACTIONS[name], rest.strip(), correlation_id)
        except _Refused as refusal:
            return str(refusal)
        return HELP

    # reading

    def _bots(self, caller: Caller) -> list[dict[str, Any]]:
        with self.read_engine.connect() as conn:
            query = queries.in_order(queries.bots(caller), queries.BOTS_SORT)
            return queries.rows(conn, query)

    def status(self, caller: Caller) -> str:
        bots = self._bots(caller)
        if not bots:
            return "No bots."
        lines = []
        for bot in bots:
            switch = (
                f"kill switch ON ({bot['kill_switch_reason']})" if bot["kill_switch"] else "kill switch off"
            )
            lines.append(f"{bot['name']}: {bot['status']}, {switch} (id {bot['bot_id']})")
        return "\n".join(lines)

    def _open_positions(self, caller: Caller) -> list[dict[str, Any]]:
        with self.read_engine.connect() as conn:
            found = queries.rows(conn, queries.marked(queries.positions(caller)))
        for row in found:
            mark = row["mark_price"]
            state = PositionState(row["quantity"], row["average_price"], row["realized_pnl"])
            row["unrealized_pnl"] = None if mark is None else state.unrealized_pnl(mark)
        return found

    def positions(self, caller: Caller) -> str:
        names = {bot["bot_id"]: bot["name"] for bot in self._bots(caller)}
        lines = []
        for row in self._open_positions(caller):
            if row["quantity"] == 0:
                continue
            unrealized = (
                "no mark yet"
                if row["mark_price"] is None
                else f"unrealized {plain(row['unrealized_pnl'])} at {plain(row['mark_price'])}"
            )
            lines.append(
                f"{names.get(row['bot_id'], row['bot_id'])} {row['symbol']}: {plain(row['quantity'])} "
                f"@ {plain(row['average_price'])}, {unrealized}"
            )
        return "\n".join(lines) if lines else "No open positions."

    def pnl(self, caller: Caller) -> str:
        bots = self._bots(caller)
        if not bots:
            return "No bots."
        unrealized: dict[UUID, Decimal | None] = defaultdict(Decimal)
        for row in self._open_positions(caller):
            known = unrealized[row["bot_id"]]
            part = row["unrealized_pnl"]
            unrealized[row["bot_id"]] = None if known is None or part is None else known + part
        return "\n".join(
            f"{bot['name']}: realized {plain(bot['realized_pnl'])}, "
            f"unrealized {plain(unrealized[bot['bot_id']])}"
            for bot in bots
        )

    # acting

    def _resolve(self, caller: Caller, named: str, verb: str) -> UUID:
        if not named:
            raise _Refused(f"Which bot? /{verb} <bot id or the start of its name>")
        try:
            return UUID(named)
        except ValueError:
            pass
        wanted = named.casefold()
        found = [bot for bot in self._bots(caller) if str(bot["name"]).casefold().startswith(wanted)]
        exact = [bot for bot in found if str(bot["name"]).casefold() == wanted]
        if len(exact) == 1:
            found = exact
        if not found:
            raise _Refused(f"No bot of yours is named {named}.")
        if len(found) > 1:
            names = ", ".join(str(bot["name"]) for bot in found)
            raise _Refused(f"{named} names several bots ({names}): say more of the name, or give the id.")
        bot_id: UUID = found[0]["bot_id"]
        return bot_id

    def act(self, caller: Caller, action: _Action, named: str, correlation_id: str) -> str:
        if not caller.may_write:
            raise _Refused(
                f"Sorry, your role ({caller.role.value}) may read but not change anything: "
                f"/{action.verb} is not for you."
            )
        bot_id = self._resolve(caller, named, action.verb)
        try:
            check_bot(StoreOwners(self.store), caller, bot_id)
        except NotFound:
            raise _Refused(f"No bot of yours is named {named}.") from None
        bot = self.store.load(Bot, bot_id, "bot")
        command = action.command(actor=caller.user_id, bot_id=bot_id, correlation_id=correlation_id)
        try:
            ack: Ack = self.bus.dispatch(command)
        except IllegalTransition as error:
            return f"Cannot {action.verb} {bot.name}: it is {error.state}."
        except InvalidInput as error:
            return f"Cannot {action.verb} {bot.name}: {error.rule}."
        except DomainError as error:
            return f"Cannot {action.verb} {bot.name}: {error}."
        if not ack.changed:
            return f"{bot.name}: nothing to change (already {action.done})."
        return f"{bot.name}: {action.done}."
