"""docker-compose.yml is checked against the real program: every service that runs `tbot` runs a
real subcommand, and every variable it sets is a real setting whose value the settings accept."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from infrastructure.settings import Settings
from interfaces.cli import app

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
SERVICES: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
TBOT_SERVICES = {name: s for name, s in SERVICES.items() if s.get("command", [None])[0] == "tbot"}


def _help(args: list[str]) -> str:
    """What `tbot <args> --help` prints; a command that does not exist fails with exit code 2."""
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="tbot", terminal_width=200)
    assert result.exit_code == 0, f"`tbot {' '.join(args)}`: {result.output}"
    return result.output


def test_a_command_that_is_not_there_is_refused() -> None:
    assert CliRunner().invoke(app, ["execution", "walk", "--help"]).exit_code == 2


def test_the_whole_system_is_there() -> None:
    commands = {tuple(s["command"][1:]) for s in TBOT_SERVICES.values()}
    assert {
        ("db", "init"),
        ("serve",),
        ("projections", "run"),
        ("execution", "run"),
        ("marketdata", "run"),
        ("strategies", "run"),
        ("protection", "run"),
        ("backtest", "worker"),
        ("notifications", "run"),
        ("telegram", "run"),
    } <= commands
    assert SERVICES["db"]["image"].startswith("timescale/timescaledb")
    assert "redis" in SERVICES


@pytest.mark.parametrize("service", sorted(TBOT_SERVICES))
def test_each_service_runs_a_real_subcommand(service: str) -> None:
    args = TBOT_SERVICES[service]["command"][1:]
    [usage] = [line.strip() for line in _help(args).splitlines() if "Usage:" in line]
    assert usage.startswith(f"Usage: tbot {' '.join(args)} ") and "COMMAND" not in usage, usage


@pytest.mark.parametrize("service", sorted(TBOT_SERVICES))
def test_each_variable_is_a_real_setting_with_a_valid_value(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment: dict[str, str] = TBOT_SERVICES[service].get("environment", {})
    unknown = set(map(str.upper, environment)) - set(Settings.variables())
    assert not unknown, f"{service} sets variables that are no setting: {sorted(unknown)}"
    for name, value in environment.items():
        # compose fills in ${VAR:-default} with its default when VAR is unset, and ${VAR:?message}
        # with what must be set: a stand-in of a valid shape
        filled = re.sub(r"\$\{[^}:]*:-([^}]*)\}", r"\1", str(value))
        monkeypatch.setenv(name, re.sub(r"\$\{[^}]*\}", "x" * 32, filled))
    Settings()
