"""The workers' supervised loop: nothing a turn raises ends a worker; it reports itself unhealthy,
backs off and carries on; a job begins only while it holds its lock, and ends whenever it stops
holding it; stop ends an idle at once and lets go of everything once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY
from psycopg import OperationalError

from interfaces.workers.supervisor import Supervisor
from tests.support.processes import wait_for


class Job:
    name = "job"

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.fail_turns: list[BaseException] = []
        self.fail_begins: list[BaseException] = []
        self.pause = 0.01
        self.states: list[str] = []  # the supervisor's health as each turn starts
        self.supervisor: Supervisor[Job] | None = None
        self._wake = threading.Event()

    def begin(self) -> None:
        self.calls["begin"] += 1
        if self.fail_begins:
            raise self.fail_begins.pop(0)

    def turn(self) -> float:
        self.calls["turn"] += 1
        if self.supervisor is not None:
            self.states.append(self.supervisor.health.state)
        if self.fail_turns:
            raise self.fail_turns.pop(0)
        return self.pause

    def idle(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def interrupt(self) -> None:
        self._wake.set()

    def end(self) -> None:
        self.calls["end"] += 1

    def close(self) -> None:
        self.calls["close"] += 1


class Locks:
    def __init__(self) -> None:
        self.free = True
        self.held = False
        self.released = 0

    def try_acquire(self, name: str) -> bool:
        if self.free:
            self.held = True
        return self.held

    def check(self) -> bool:
        return self.held

    def release_all(self) -> None:
        self.held = False
        self.released += 1


@contextmanager
def running(supervisor: Supervisor[Job]) -> Iterator[threading.Thread]:
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    try:
        yield thread
    finally:
        supervisor.stop()
        thread.join(5)
    assert not thread.is_alive()


def quick(job: Job, locks: Locks | None = None) -> Supervisor[Job]:
    job.supervisor = Supervisor(job, locks, standby_seconds=0.01, first_backoff=0.01, max_backoff=0.05)
    return job.supervisor


def turns_after(job: Job, count: int) -> Callable[[], bool]:
    start = job.calls["turn"]
    return lambda: job.calls["turn"] >= start + count


def test_an_outage_makes_the_worker_unhealthy_until_a_turn_works_again() -> None:
    job = Job()
    job.fail_turns = [OperationalError("connection refused")] * 3
    supervisor = quick(job)
    with running(supervisor):
        wait_for(lambda: len(job.states) >= 6, 5, "turns after the outage")
    assert job.states[:6] == ["starting", "unhealthy", "unhealthy", "unhealthy", "running", "running"]
    assert supervisor.health.state == "stopped"
    assert job.calls["begin"] == 1  # an outage in a turn keeps the job's work: no new begin


def test_any_error_in_a_turn_is_survived() -> None:
    job = Job()
    job.fail_turns = [RuntimeError("boom"), KeyError("x")]
    supervisor = quick(job)
    with running(supervisor):
        wait_for(turns_after(job, 5), 5, "turns after the errors")
        assert supervisor.health.state == "running" and supervisor.health.error is None


def test_the_unhealthy_report_names_the_error() -> None:
    job = Job()
    job.fail_turns = [OperationalError("the database system is shutting down")] * 1000
    supervisor = quick(job)
    with running(supervisor):
        wait_for(lambda: supervisor.health.state == "unhealthy", 5, "unhealthy")
        assert supervisor.health.error == "OperationalError: the database system is shutting down"
        assert not supervisor.health.healthy


def test_a_begin_that_fails_is_undone_and_tried_again() -> None:
    job = Job()
    job.fail_begins = [OperationalError("refused"), RuntimeError("half set up")]
    supervisor = quick(job)
    with running(supervisor):
        assert supervisor.started.wait(5)
        wait_for(turns_after(job, 1), 5, "a turn")
    assert job.calls["begin"] == 3 and job.calls["end"] == 3  # two undone, the last at stop


def test_a_standby_never_begins_and_takes_over_when_the_lock_is_free() -> None:
    job, locks = Job(), Locks()
    locks.free = False
    supervisor = quick(job, locks)
    with running(supervisor):
        wait_for(lambda: supervisor.health.state == "standby", 5, "standby")
        assert job.calls["begin"] == 0 and job.calls["turn"] == 0
        locks.free = True
        assert supervisor.started.wait(5)
        wait_for(turns_after(job, 1), 5, "a turn")


def test_a_lost_lock_ends_the_job_and_it_begins_again_once_the_lock_is_back() -> None:
    job, locks = Job(), Locks()
    supervisor = quick(job, locks)
    with running(supervisor):
        assert supervisor.started.wait(5)
        locks.free, locks.held = False, False  # the lock's connection died; another holds it now
        wait_for(lambda: job.calls["end"] == 1, 5, "the job ended")
        turns = job.calls["turn"]
        wait_for(lambda: supervisor.health.state == "standby", 5, "standby")
        assert job.calls["turn"] == turns  # no work without the lock
        locks.free = True
        wait_for(lambda: job.calls["begin"] == 2, 5, "a new begin (reconciling again)")


def test_stop_interrupts_the_idle_and_lets_go_of_everything_once() -> None:
    job, locks = Job(), Locks()
    job.pause = 60.0
    supervisor = quick(job, locks)
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    wait_for(lambda: job.calls["turn"] == 1, 5, "a turn")
    supervisor.stop()
    thread.join(2)
    assert not thread.is_alive()  # the minute's idle did not hold it
    assert (job.calls["end"], job.calls["close"], locks.released) == (1, 1, 1)
    assert supervisor.health.state == "stopped"


def test_its_health_whether_it_holds_the_lock_and_its_failed_turns_are_metrics() -> None:
    job, locks = Job(), Locks()
    job.name = "metered-job"
    locks.free = False
    worker = {"worker": job.name}

    def sample(name: str) -> float | None:
        return REGISTRY.get_sample_value(name, worker)

    supervisor = quick(job, locks)
    with running(supervisor):
        wait_for(lambda: supervisor.health.state == "standby", 5, "standing by")
        assert (sample("tbot_worker_healthy"), sample("tbot_worker_active")) == (1, 0)
        locks.free = True
        wait_for(lambda: sample("tbot_worker_active") == 1, 5, "holding the lock")
        job.fail_turns = [RuntimeError("a bug")]
        wait_for(lambda: sample("tbot_worker_failed_turns_total") == 1, 5, "the failed turn counted")
        wait_for(lambda: supervisor.health.state == "running", 5, "running again")
        assert sample("tbot_worker_healthy") == 1
    assert (sample("tbot_worker_healthy"), sample("tbot_worker_active")) == (0, 0)  # stopped
