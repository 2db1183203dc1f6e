"""Two real `tbot strategies run` processes on one PostgreSQL share the running bots (a lease per
bot); when one is SIGKILLed, the other takes its bots over within seconds, and no bot decides
twice on a candle."""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import psycopg
import pytest

from application import commands as c
from domain.bot import Bot
from domain.market import Candle
from domain.values import Symbol
from infrastructure.candles import CandleStore
from infrastructure.read_database import create_read_engine
from infrastructure.settings import Settings
from infrastructure.strategy_leases import BOT_LEASE_CLASS
from tests.support.processes import start_tbot, stop, tbot, wait_for
from tests.support.world import ACTOR, LIMITS, World, world_on

pytestmark = pytest.mark.postgres

BTC = Symbol("BTC", "USDT")
BOTS = 12
SMA = {"fast": 2, "slow": 3, "quantity": "0.001"}


def _minute(candles: CandleStore, opened_at: datetime, price: Decimal) -> None:
    candles.write([Candle(BTC, opened_at, price, price, price, price, Decimal(1))])


def _leases_by_process(settings: Settings) -> Counter[int]:
    """How many bot leases each PostgreSQL session holds (one session per runtime)."""
    assert settings.store.database_url is not None
    with psycopg.connect(settings.store.database_url.get_secret_value()) as conn:
        rows = conn.execute(
            "SELECT pid, count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s "
            "GROUP BY pid",
            (BOT_LEASE_CLASS,),
        ).fetchall()
    return Counter({int(pid): int(count) for pid, count in rows})


def _decided(world: World, bots: list[UUID]) -> Counter[tuple[UUID, datetime]]:
    wanted = set(bots)
    return Counter(
        (e.originator_id, e.candle_at)
        for e in world.new_events(0)
        if isinstance(e, Bot.DecisionMade) and e.originator_id in wanted
    )


def test_two_runtimes_share_the_bots_and_one_takes_over_when_the_other_is_killed(
    postgres_settings: Settings,
) -> None:
    settings = postgres_settings
    assert tbot(settings, "db", "init").returncode == 0
    engine = create_read_engine(settings)
    candles = CandleStore(engine)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    for minute in range(11):  # ten closed minutes, the eleventh in progress
        _minute(candles, start + timedelta(minutes=minute), Decimal(50_000 + minute))
    first = start + timedelta(minutes=10)  # the candle the runtimes decide on first closes here

    runtimes: list[subprocess.Popen[str]] = []
    with world_on(settings) as world:
        bots = []
        for n in range(BOTS):
            created = world.bus.dispatch(
                c.CreateBot(
                    actor=ACTOR,
                    name=f"sma {n}",
                    strategy="sma_cross",
                    params=SMA,
                    allowed_symbols=["BTC/USDT"],
                    limits=LIMITS,
                )
            )
            world.bus.dispatch(c.StartBot(actor=ACTOR, bot_id=created.aggregate_id))
            bots.append(created.aggregate_id)
        env = {"TBOT_PROJECTION_POLL_SECONDS": "0.2"}
        projections = start_tbot(settings, "projections", "run", "bots", **env)
        try:
            runtimes = [start_tbot(settings, "strategies", "run", **env) for _ in range(2)]
            wait_for(lambda: len(_decided(world, bots)) == BOTS, 60, "every bot's first decision")

            def shared() -> bool:
                held = _leases_by_process(settings)
                return len(held) == 2 and sum(held.values()) == BOTS

            wait_for(shared, 20, "the two runtimes to share every lease")  # a fair share each
            assert sorted(_leases_by_process(settings).values()) == [BOTS // 2, BOTS // 2]

            runtimes[0].kill()  # SIGKILL: its session ends, and its leases with it
            runtimes[0].wait(10)
            _minute(candles, start + timedelta(minutes=11), Decimal(50_020))  # closes the next candle
            second = first + timedelta(minutes=1)
            wait_for(
                lambda: all((bot, second) in _decided(world, bots) for bot in bots),
                20,
                "the survivor to decide for every bot",
            )
            assert list(_leases_by_process(settings).values()) == [BOTS]
        finally:
            for process in [*runtimes, projections]:
                stop(process)
            engine.dispose()
        decided = _decided(world, bots)
        assert set(decided.values()) == {1}  # no bot decided twice on one candle
        assert {at for _, at in decided} == {first, second}
