"""The parent of `tbot serve --workers N` gives up, instead of starting servers forever, when a
server ends with status 2 (a bad setting: another would fail the same way) or when servers keep
ending. (A crashed server replaced by a new one is tested on a real server in
tests/integration/test_serve_workers.py.)"""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

from interfaces.server_processes import RESTART_BUDGET, serve_in_processes


def _supervise(code: int, reports: str) -> None:
    """In a process of its own (signal handlers belong to a main thread): two servers that end at
    once with ``code``; what the parent reports goes to the file ``reports``."""

    def report(line: str) -> None:
        with Path(reports).open("a") as out:
            out.write(line + "\n")

    sys.exit(serve_in_processes(2, lambda: sys.exit(code), report))


def _run(code: int, tmp_path: Path) -> tuple[int | None, list[str]]:
    reports = tmp_path / "reports"
    reports.touch()
    parent = multiprocessing.get_context("spawn").Process(target=_supervise, args=(code, str(reports)))
    parent.start()
    parent.join(60)
    return parent.exitcode, reports.read_text().splitlines()


def test_a_server_ending_with_a_usage_error_stops_the_rest_and_is_not_replaced(tmp_path: Path) -> None:
    status, reports = _run(2, tmp_path)
    assert status == 2
    [gave_up] = reports
    assert "(exit status 2); stopping every server" in gave_up


def test_servers_that_keep_ending_are_replaced_until_the_budget_then_given_up(tmp_path: Path) -> None:
    began = time.monotonic()
    status, reports = _run(1, tmp_path)
    assert status == 1
    *replaced, gave_up = reports
    assert len(replaced) == RESTART_BUDGET * 2 and all("in its place" in line for line in replaced)
    assert "(exit status 1); stopping every server" in gave_up
    assert time.monotonic() - began < 30
