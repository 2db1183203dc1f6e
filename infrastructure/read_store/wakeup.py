"""Wakes a waiting worker when events are committed (the read side's ``Wakeup`` port,
projections/ports.py): PostgreSQL's LISTEN on the event store's channel (the recorder NOTIFYs it
on every write); on the embedded SQLite store nothing announces a commit and the wait simply times
out, which is also the fallback for a lost notification."""

from __future__ import annotations

import threading

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from application.store import TradingApplication


class PollingWakeup:
    """Nothing announces commits: a wait ends when it times out or the worker is poked."""

    def __init__(self) -> None:
        self._event = threading.Event()

    @property
    def listening(self) -> bool:
        return False

    def wait(self, timeout: float) -> bool:
        """Waits for a notification; False when the wait timed out instead."""
        notified = self._event.wait(timeout)
        self._event.clear()
        return notified

    def poke(self) -> None:
        self._event.set()

    def close(self) -> None:
        self._event.set()


class ListenWakeup(PollingWakeup):
    """LISTENs on a channel (the recorder's own by default) on a connection of its own, in a
    thread; reconnects after a lost connection while polling carries on."""

    def __init__(self, recorder: PostgresApplicationRecorder, channel: str | None = None) -> None:
        super().__init__()
        self._stop = threading.Event()
        self._channel = channel or recorder.channel_name
        self.ready = threading.Event()  # set once LISTEN is in place
        self._thread = threading.Thread(target=self._listen, args=(recorder,), daemon=True, name="listen")
        self._thread.start()

    @property
    def listening(self) -> bool:
        return True

    def _listen(self, recorder: PostgresApplicationRecorder) -> None:
        while not self._stop.is_set():
            try:
                with recorder.datastore.get_connection() as conn:
                    conn.execute(sql.SQL("LISTEN {0}").format(sql.Identifier(self._channel)))
                    conn.commit()
                    self.ready.set()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._event.set()
            except Exception:  # a lost connection: polling carries on while we reconnect
                self.ready.clear()
                self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        self._event.set()
        self._thread.join(timeout=2)


def open_wakeup(store: TradingApplication, channel: str | None = None) -> PollingWakeup:
    """LISTEN where the event store's database announces its commits (PostgreSQL), on its own
    channel or ``channel``; polling alone elsewhere."""
    recorder = store.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        return ListenWakeup(recorder, channel)
    return PollingWakeup()
