"""One loop for every long-running worker.

A job does the work in turns; the supervisor owns the loop around it: it takes the job's lock (one
holder among the processes, the others standing by), lets the job set up once it holds it
(``begin``: connections, reconciliation), runs turns with the pauses the job asks for, and lets go
(``end``) when stopped or when the lock is lost. Nothing a turn raises ends the worker: a store out
of reach (PostgreSQL restarting, Redis down) or any other fault is logged, the worker reports itself
unhealthy, waits (from half a second, doubling up to ``max_backoff``, 5 s) and tries again. A job
keeps its place in what it works through (a tracking position that moves only with the work
done), so a retried turn neither skips nor repeats anything. Its health, whether it does the
work (holds the lock) and its failed turns are metrics too (``tbot_worker_*``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Literal, Protocol, TypeVar

import structlog

from infrastructure.metrics import metrics
from infrastructure.outages import is_outage, one_line

log = structlog.get_logger("tbot.workers")
State = Literal["starting", "standby", "running", "unhealthy", "stopped"]
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 5.0


class Degraded(Exception):
    """Raised by a turn that did its work but leaves the worker unhealthy (market data stalled):
    reported in its health, with the turn's pause and no back-off (the job logs the cause)."""

    def __init__(self, message: str, pause: float) -> None:
        super().__init__(message)
        self.pause = pause


class Job(Protocol):
    """The work of one worker, done in turns by a Supervisor."""

    name: str
    """The worker's name: the lock it holds, the name its log lines and health carry."""

    def begin(self) -> None:
        """The job owns the work now: set up what the turns need (run again after ``end``)."""
        ...

    def turn(self) -> float:
        """One turn of work; returns how long to wait before the next (0: at once)."""
        ...

    def idle(self, seconds: float) -> None:
        """Waits up to ``seconds``, returning early when work may be waiting or ``interrupt`` is
        called."""
        ...

    def interrupt(self) -> None:
        """Ends an ``idle`` now."""
        ...

    def end(self) -> None:
        """The job no longer owns the work (stopped, the lock lost, or ``begin`` failed): let go of
        what ``begin`` set up."""
        ...

    def close(self) -> None:
        """The worker has stopped for good: let go of what the job was built with."""
        ...


class Ownership(Protocol):
    """Locks that only one process holds at a time, freed when their holder dies."""

    def try_acquire(self, name: str) -> bool: ...

    def check(self) -> bool:
        """False when the locks were lost (their connection died); held ones are then gone."""
        ...

    def release_all(self) -> None: ...


J = TypeVar("J", bound=Job)


@dataclass(frozen=True)
class Health:
    name: str
    state: State
    since: datetime
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.state in ("starting", "standby", "running")


class Supervisor(Generic[J]):
    """Runs a job until ``stop``; ``ownership`` None: the job needs no lock (or holds its own)."""

    def __init__(
        self,
        job: J,
        ownership: Ownership | None = None,
        *,
        standby_seconds: float = 1.0,
        first_backoff: float = FIRST_BACKOFF_SECONDS,
        max_backoff: float = MAX_BACKOFF_SECONDS,
    ) -> None:
        self.job = job
        self.ownership = ownership
        self.standby_seconds = standby_seconds
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.started = threading.Event()
        """Set once the job has begun (holds the work and set it up) for the first time."""
        self._stop = threading.Event()
        self._health = Health(job.name, "starting", datetime.now(UTC))
        self._owned = False
        self._failures = 0  # turns failed in a row

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def health(self) -> Health:
        return self._health

    def stop(self) -> None:
        self._stop.set()
        self.job.interrupt()

    def run(self) -> None:
        """Runs until stopped; never ends on an error."""
        pause = self.first_backoff
        with structlog.contextvars.bound_contextvars(worker=self.name):
            try:
                while not self._stop.is_set():
                    try:
                        wait = self._cycle()
                    except Degraded as degraded:
                        self._report("unhealthy", str(degraded))
                        wait = degraded.pause
                    except Exception as error:
                        self._failed(error, pause)
                        self._stop.wait(pause)
                        pause = min(2 * pause, self.max_backoff)
                        continue
                    pause = self.first_backoff
                    if wait > 0 and not self._stop.is_set():
                        self.job.idle(wait)
            finally:
                self._end()
                if self.ownership is not None:
                    self._quietly(self.ownership.release_all)
                self._quietly(self.job.close)
                self._report("stopped")

    def _cycle(self) -> float:
        """Takes or checks the lock, begins if it must, then one turn; returns the pause."""
        if not self._owned:
            if self.ownership is not None and not self.ownership.try_acquire(self.name):
                self._report("standby")
                return self.standby_seconds
            self._report("starting")
            self._owned = True  # from here on, ``end`` undoes whatever ``begin`` did
            try:
                self.job.begin()
            except BaseException:
                self._end()
                raise
            self.started.set()
            log.info("worker began")
        elif self.ownership is not None and not self.ownership.check():
            log.warning("worker lost its lock; standing by")
            self._end()
            return 0.0
        wait = self.job.turn()
        if self._failures:
            log.info("worker recovered", failed_turns=self._failures)
            self._failures = 0
        self._report("running")
        return wait

    def _failed(self, error: Exception, pause: float) -> None:
        self._failures += 1
        metrics().worker_failed_turns.labels(self.name).inc()
        self._report("unhealthy", one_line(error))
        if is_outage(error):
            log.warning("worker cannot reach a store; retrying", error=one_line(error), pause=pause)
        else:
            log.error("worker turn failed; retrying", error=one_line(error), pause=pause, exc_info=True)

    def _end(self) -> None:
        if self._owned:
            self._owned = False
            self._quietly(self.job.end)

    def _quietly(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as error:  # a store out of reach while letting go: nothing left to do
            log.warning("worker could not let go cleanly", error=one_line(error))

    def _report(self, state: State, error: str | None = None) -> None:
        if self._health.state != state or self._health.error != error:
            self._health = Health(self.name, state, datetime.now(UTC), error)
        measured = metrics()
        measured.worker_healthy.labels(self.name).set(1 if self._health.healthy else 0)
        measured.worker_active.labels(self.name).set(1 if self._owned else 0)
