"""`tbot serve --workers N`: N API processes accepting on one listening socket (pre-fork).

One Python process serves one core's worth of commands (the interpreter's lock); more processes
behind one PostgreSQL use more cores. The socket is bound once, before the fork, so the kernel
shares its connections among the processes and nothing can take the port in between. The parent
only supervises: SIGINT or SIGTERM is passed on to every server, and it ends when they have,
with the first failure's exit status. Each server opens its own stores after the fork, so no
connection is shared across processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType


def serve_in_processes(count: int, serve_one: Callable[[], None]) -> int:
    """Runs ``serve_one`` in ``count`` child processes until they end; returns the exit status."""
    children: list[int] = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # the child serves, then leaves without running the parent's exit handlers
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
        children.append(pid)

    def pass_on(signum: int, _: FrameType | None) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):  # it has ended already
                os.kill(child, signum)

    previous = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGINT, signal.SIGTERM)}
    failure = 0
    try:
        for child in children:
            _, status = os.waitpid(child, 0)
            code = os.waitstatus_to_exitcode(status)
            failure = failure or (code if code > 0 else 0)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return failure
