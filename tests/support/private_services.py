"""A PostgreSQL and a Redis server of a test's own (the suite's are shared by tests running beside
it), which the test may stop and start again: the same servers on the same ports, PostgreSQL's data
kept, Redis's lost, as after a crash."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVICES = Path(__file__).with_name("services.sh")


@dataclass(frozen=True)
class PrivateServices:
    env_file: Path
    database_url: str
    redis_url: str

    def _do(self, action: str) -> None:
        subprocess.run([str(SERVICES), action, str(self.env_file)], check=True, timeout=120)

    def stop_postgres(self) -> None:
        self._do("pg-stop")

    def start_postgres(self) -> None:
        self._do("pg-start")

    def restart_postgres(self) -> None:
        self._do("pg-restart")

    def stop_redis(self) -> None:
        self._do("redis-stop")

    def start_redis(self) -> None:
        self._do("redis-start")


@contextmanager
def private_services() -> Iterator[PrivateServices]:
    with tempfile.TemporaryDirectory(prefix="tbot-private-") as folder:
        env_file = Path(folder) / "services.env"
        subprocess.run([str(SERVICES), "start", str(env_file)], check=True, timeout=300)
        try:
            values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
            yield PrivateServices(env_file, values["TBOT_TEST_DATABASE_URL"], values["TBOT_TEST_REDIS_URL"])
        finally:
            subprocess.run([str(SERVICES), "stop", str(env_file)], check=False, timeout=120)
