"""Running `tbot` in tests: as a real process, or in this one through typer's CliRunner, on an
environment without the suite's own database settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from interfaces.cli import app

TBOT = str(Path(sys.executable).with_name("tbot"))
OURS = ("POSTGRES_", "DATABASE_URL", "REDIS_URL", "TBOT_")


def clean_env(**env: str) -> dict[str, str]:
    """This environment without any database, Redis or tbot setting, plus ``env``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith(OURS)}, **env}


def sqlite_env(directory: Path, **env: str) -> dict[str, str]:
    """The embedded default on files of their own in ``directory``."""
    return {
        "TBOT_SQLITE_PATH": str(directory / "e.db"),
        "TBOT_READ_SQLITE_PATH": str(directory / "r.db"),
        **env,
    }


def tbot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return tbot_within(120, *args, **env)


def tbot_within(seconds: float, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The finished command; TimeoutExpired (the process killed) when it runs longer, as a worker
    that should have refused to start does."""
    return subprocess.run(
        [TBOT, *args], env=clean_env(**env), capture_output=True, text=True, timeout=seconds, check=False
    )


def start(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TBOT, *args], env=clean_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def invoke(*args: str, **env: str) -> Result:
    """In this process: for commands that leave no global state (logging, signal handlers) behind."""
    unset: dict[str, Any] = {k: None for k in os.environ if k.startswith(OURS)}
    return CliRunner().invoke(app, list(args), env={**unset, **env})


def assert_user_error(exit_code: int | None, stderr: str, *words: str) -> None:
    """Exit code 2 and one line on stderr, naming the field and the rule (``words``)."""
    lines = stderr.strip().splitlines()
    assert exit_code == 2, stderr
    assert len(lines) == 1, stderr
    assert all(word in lines[0] for word in words), lines[0]
    assert "Traceback" not in stderr
