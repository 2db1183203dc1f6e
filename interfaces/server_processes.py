"""`tbot serve --workers N`: N API processes accepting on one listening socket (pre-fork).

One Python process serves one core's worth of commands (the interpreter's lock); more processes
behind one PostgreSQL use more cores. The socket is bound once, before the fork, so the kernel
shares its connections among the processes and nothing can take the port in between. Each server
opens its own stores after the fork, so no connection is shared across processes.

The parent only supervises. SIGINT or SIGTERM is passed on to every server, and it ends when they
have, with the first failure's exit status. A server that ends while the parent is not stopping
(it crashed, or was killed) is replaced by a new one, unless it ended with status 2 (a bad
setting: another would fail the same way) or servers keep ending (more than ``RESTART_BUDGET``
per server in ``RESTART_WINDOW_SECONDS``); then every server is stopped and that status returned.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

USAGE_ERROR = 2
RESTART_BUDGET = 3
RESTART_WINDOW_SECONDS = 60.0


class _Servers:
    """The running servers, and whether they are being stopped (then none is replaced)."""

    def __init__(self) -> None:
        self.pids: set[int] = set()
        self._stopping = False

    def stopping(self) -> bool:
        return self._stopping

    def stop(self, signum: int) -> None:
        self._stopping = True
        for pid in list(self.pids):
            with contextlib.suppress(ProcessLookupError):  # it has ended already
                os.kill(pid, signum)


def serve_in_processes(
    count: int,
    serve_one: Callable[[], None],
    report: Callable[[str], None],
    on_end: Callable[[int], None] = lambda pid: None,
) -> int:
    """Runs ``serve_one`` in ``count`` child processes until they end; returns the exit status.
    ``report`` hears of each server replaced, and of giving up; ``on_end`` of each server's
    pid once it has ended."""
    handlers: dict[int, Any] = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    servers = _Servers()
    for signum in handlers:
        signal.signal(signum, lambda received, _: servers.stop(received))
    failure, ended = 0, deque[float]()
    try:
        for _ in range(count):
            servers.pids.add(_fork(serve_one, handlers))
        while servers.pids:
            pid, status = os.wait()
            if pid not in servers.pids:
                continue
            servers.pids.discard(pid)
            on_end(pid)
            code = os.waitstatus_to_exitcode(status)
            if servers.stopping():
                failure = failure or max(code, 0)
                continue
            ended.append(time.monotonic())
            while ended[0] < time.monotonic() - RESTART_WINDOW_SECONDS:
                ended.popleft()
            if code == USAGE_ERROR or len(ended) > RESTART_BUDGET * count:
                report(f"error: server process {pid} ended ({_why(code)}); stopping every server")
                failure = max(code, 1)
                servers.stop(signal.SIGTERM)
                continue
            replacement = _fork(serve_one, handlers)
            servers.pids.add(replacement)
            report(f"server process {pid} ended ({_why(code)}); started {replacement} in its place")
            if servers.stopping():  # a stop signal came while it was being started
                servers.stop(signal.SIGTERM)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return failure


def _why(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"


def _fork(serve_one: Callable[[], None], handlers: dict[int, Any]) -> int:
    """A child that serves, then leaves without running the parent's exit handlers; it starts
    with the signal handlers the command had, not the parent's passing on."""
    pid = os.fork()
    if pid:
        return pid
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    status = 0
    try:
        serve_one()
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        status = 1
        sys.excepthook(*sys.exc_info())
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status)
