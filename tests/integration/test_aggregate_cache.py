"""The aggregate cache each process keeps: a load is fast-forwarded from the store, so a process
never decides on a stale bot after another process changed it, and a command that fails leaves
the cached bot as it was."""

from __future__ import annotations

import pytest

from application import commands as c
from application.errors import OrderDenied
from domain.bot import Bot, BotStatus
from infrastructure.settings import Settings
from tests.support.world import ACTOR, LIMITS, world_on

pytestmark = pytest.mark.postgres


def test_a_process_sees_what_another_process_wrote(postgres_settings: Settings) -> None:
    with world_on(postgres_settings) as one, world_on(postgres_settings) as other:
        bot_id = one.running_bot(limits={**LIMITS, "max_open_orders": 1})
        assert other.store.load(Bot, bot_id).status is BotStatus.RUNNING  # now cached there too
        one.place(bot_id, "first", "buy", "0.01", price="50000")
        one.bus.dispatch(c.PauseBot(actor=ACTOR, bot_id=bot_id))
        seen = other.store.load(Bot, bot_id)
        assert seen.status is BotStatus.PAUSED and len(seen.open_orders) == 1
        other.bus.dispatch(c.ResumeBot(actor=ACTOR, bot_id=bot_id))
        # the other process's bot knows the open order: a second one is over the limit
        with pytest.raises(OrderDenied) as denied:
            other.place(bot_id, "second", "buy", "0.01", price="50000")
        assert [code.value for code in denied.value.reason_codes] == ["MAX_OPEN_ORDERS"]


def test_a_command_changes_a_private_copy_never_the_cached_aggregate(postgres_settings: Settings) -> None:
    """What a command changes and then fails to save (a conflict, an error) must not linger."""
    with world_on(postgres_settings) as world:
        bot_id = world.running_bot()
        changed = world.store.load(Bot, bot_id)
        changed.status = BotStatus.STOPPED
        changed.allowed_symbols.append("DOGE/USDT")
        again = world.store.load(Bot, bot_id)
        assert again.status is BotStatus.RUNNING and "DOGE/USDT" not in again.allowed_symbols
        assert world.store.find(Bot, bot_id, read_only=True) is world.store.find(Bot, bot_id, read_only=True)
