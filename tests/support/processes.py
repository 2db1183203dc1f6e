"""`tbot` as a separate process, configured like production: through environment variables."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infrastructure.settings import Settings

TBOT = str(Path(sys.executable).with_name("tbot"))


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a `tbot` process needs to use the same stores as ``settings``."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POSTGRES_", "DATABASE_URL", "REDIS_URL", "TBOT_", "PGAPPNAME"))
    }
    env = {**base, "TBOT_PROJECTION_POLL_SECONDS": "0.2"}
    if settings.store.backend == "postgres":
        assert settings.store.database_url is not None
        env.update(
            DATABASE_URL=settings.store.database_url.get_secret_value(),
            POSTGRES_SCHEMA=settings.store.postgres_schema,
        )
    else:
        env.update(
            TBOT_SQLITE_PATH=str(settings.store.sqlite_path),
            TBOT_READ_SQLITE_PATH=str(settings.store.read_sqlite_path),
        )
    if settings.redis.url is not None:
        env["REDIS_URL"] = settings.redis.url.get_secret_value()
    return {**env, **extra}


def tbot(settings: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TBOT, *args],
        env=settings_env(settings, **extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def start_tbot(
    settings: Settings, *args: str, stdout: Any = subprocess.DEVNULL, **extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TBOT, *args],
        env=settings_env(settings, **extra),
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
