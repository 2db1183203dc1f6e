"""New events reach a waiting worker through PostgreSQL's NOTIFY; where no notification comes
(the embedded default, or a lost one), polling still brings the projections up to date."""

from __future__ import annotations

import threading
from uuid import uuid4

from infrastructure.read_store.wakeup import ListenWakeup, open_wakeup
from infrastructure.settings import Settings
from interfaces.workers.projections import projection_worker
from tests.support.processes import wait_for
from tests.support.read_side import read_side_on
from tests.support.settings import changed
from tests.support.world import world_on


def test_postgres_notifies_a_listening_worker_of_each_commit(postgres_settings: Settings) -> None:
    """The store's channel is named after its table, not its schema, so other tests' stores (and
    other deployments in the same database) share it: silence is checked on a channel of its own."""
    with world_on(postgres_settings) as world:
        quiet = open_wakeup(world.store, f"quiet_{uuid4().hex}")
        wakeup = open_wakeup(world.store)
        try:
            assert isinstance(wakeup, ListenWakeup) and isinstance(quiet, ListenWakeup)
            assert wakeup.listening
            assert quiet.ready.wait(10) and wakeup.ready.wait(10), "LISTEN in place"
            assert not quiet.wait(0.3), "nothing was said on the quiet channel"
            world.running_bot()
            assert wakeup.wait(10)
        finally:
            wakeup.close()
            quiet.close()


def test_without_notifications_polling_keeps_the_projections_current(sqlite_settings: Settings) -> None:
    settings = changed(sqlite_settings, projections={"poll_seconds": 0.05})
    with world_on(settings) as world, read_side_on(settings) as rs:
        worker = projection_worker(rs.container, ["orders", "bots"])
        assert not worker.job.wakeup.listening
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            bot = world.running_bot()
            world.place(bot, "p1", "buy", "0.01", price="50000")
            wait_for(lambda: len(rs.typed_rows("orders", "order_id")) == 1, 10, "the order row")
            world.place(bot, "p2", "buy", "0.01", price="50000")
            wait_for(lambda: len(rs.typed_rows("orders", "order_id")) == 2, 10, "the second order row")
        finally:
            worker.stop()
            thread.join()
        assert worker.job.failed == {}
