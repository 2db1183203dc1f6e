"""The five tbot processes of a chaos run as real subprocesses, each logging to a file of its own
(kept across restarts), that the run SIGKILLs and restarts at will. A watcher notices any that
exits without being killed, records it with the end of its log, and starts it again, so the run
goes on and the test fails at the end saying which one and why."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import TBOT

LOG_TAIL_LINES = 25


@dataclass
class Member:
    """One process of the fleet: its command line, its log file, the process running now."""

    name: str
    args: Sequence[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0


@dataclass
class Exit:
    """A process that ended without being killed or stopped by the run."""

    name: str
    code: int | None
    log_tail: str

    def __str__(self) -> str:
        return f"{self.name} exited on its own with code {self.code}; its log ends:\n{self.log_tail}"


@dataclass
class Fleet:
    env: dict[str, str]
    log_dir: Path
    members: dict[str, Member] = field(default_factory=dict)
    exits: list[Exit] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _watching: threading.Event = field(default_factory=threading.Event, init=False)
    _watcher: threading.Thread | None = field(default=None, init=False)

    def add(self, name: str, *args: str) -> None:
        self.members[name] = Member(name, args, self.log_dir / f"{name}.log")

    def start_all(self) -> None:
        for name in self.members:
            self._start(name)
        self._watching.set()
        self._watcher = threading.Thread(target=self._watch, name="chaos-watcher", daemon=True)
        self._watcher.start()

    def _start(self, name: str) -> None:
        member = self.members[name]
        with member.log.open("ab") as log:
            log.write(f"\n=== start {member.starts + 1} of {name} at {time.time():.3f} ===\n".encode())
            log.flush()
            member.process = subprocess.Popen(
                [TBOT, *member.args], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        member.starts += 1

    def kill_and_restart(self, name: str) -> None:
        """SIGKILL, wait for the end, start again at once."""
        with self._lock:
            member = self.members[name]
            assert member.process is not None
            if member.process.poll() is None:
                member.process.send_signal(signal.SIGKILL)
            member.process.wait()
            member.kills += 1
            self._start(name)

    def _watch(self) -> None:
        while self._watching.is_set():
            with self._lock:
                for member in self.members.values():
                    process = member.process
                    if process is not None and self._watching.is_set() and process.poll() is not None:
                        self.exits.append(Exit(member.name, process.returncode, self.tail(member.name)))
                        self._start(member.name)
            time.sleep(0.2)

    def stop(self, names: Sequence[str], timeout: float = 30) -> list[str]:
        """SIGTERM to each, then wait: the problems (an exit code other than a clean stop's, no end
        in time)."""
        with self._lock:
            problems = []
            for name in names:
                process = self.members[name].process
                assert process is not None
                if process.poll() is not None:  # ended before we asked: the watcher has not seen it yet
                    self.exits.append(Exit(name, process.returncode, self.tail(name)))
                    self.members[name].process = None
                    continue
                process.send_signal(signal.SIGTERM)
            for name in names:
                process = self.members[name].process
                if process is None:
                    continue
                try:
                    code = process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    problems.append(f"{name} did not stop within {timeout} s of SIGTERM")
                else:
                    # -SIGTERM: the signal came before the process had set its handler (still starting)
                    if code not in (0, -signal.SIGTERM):
                        problems.append(f"{name} exited {code} on SIGTERM; its log ends:\n{self.tail(name)}")
                self.members[name].process = None
            return problems

    def close(self) -> None:
        """Ends the watcher and every process still running (whatever happened to the test)."""
        self._watching.clear()
        if self._watcher is not None:
            self._watcher.join()
        for member in self.members.values():
            if member.process is not None and member.process.poll() is None:
                member.process.kill()
                member.process.wait()

    def tail(self, name: str, lines: int = LOG_TAIL_LINES) -> str:
        text = self.members[name].log.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def grep(self, *needles: str, limit: int = 12) -> list[str]:
        """Log lines (of any process) that contain every needle, for evidence in a failure."""
        found = []
        for member in self.members.values():
            for line in member.log.read_text(errors="replace").splitlines():
                if all(needle in line for needle in needles):
                    found.append(f"{member.name}: {line[:400]}")
                    if len(found) >= limit:
                        return found
        return found

    def errors(self) -> Counter[str]:
        """The error lines of every process's JSON log, counted by process, event and error."""
        counts: Counter[str] = Counter()
        for member in self.members.values():
            for line in member.log.read_text(errors="replace").splitlines():
                if not line.startswith("{"):
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:  # cut short by a kill
                    continue
                if entry.get("level") in ("error", "critical"):
                    what = " ".join(str(entry[k]) for k in ("command", "event", "error") if k in entry)
                    counts[f"{member.name}: {what}"] += 1
        return counts
