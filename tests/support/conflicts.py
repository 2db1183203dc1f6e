"""A conflict observer for the command handlers that counts retries and give-ups per command type."""

from __future__ import annotations

import threading
from collections import Counter

from application.commands import Command


class Conflicts:
    """Shared by every thread of a bus; read the counters once the threads are done."""

    def __init__(self) -> None:
        self.retries: Counter[str] = Counter()
        self.give_ups: Counter[str] = Counter()
        self._lock = threading.Lock()

    def retried(self, command: Command, attempt: int) -> None:
        with self._lock:
            self.retries[type(command).__name__] += 1

    def gave_up(self, command: Command, attempts: int) -> None:
        with self._lock:
            self.give_ups[type(command).__name__] += 1
