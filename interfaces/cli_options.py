"""Options the commands read alike (strategy parameters and risk limits for `tbot backtest run` and
`tbot optimize run`; times for every command that takes one), each refused with exit code 2
naming the option and the rule."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from interfaces.errors import fail_usage

_INTEGER = re.compile(r"-?[0-9]+")


def param_value(text: str) -> int | bool | str:
    """A parameter's value from the command line: a whole number as an integer, true/false as a
    boolean, anything else as text (decimals stay text: the strategies read them exactly)."""
    if _INTEGER.fullmatch(text):
        return int(text)
    return {"true": True, "false": False}.get(text, text)


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs (``--param``), each value read by ``param_value``."""
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            fail_usage(f"--param: {pair!r} must be name=value")
        params[name.strip()] = param_value(value)
    return params


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time, in UTC; one without an offset is UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail_usage(f"{option}: {value!r} is not an ISO 8601 time (for example 2024-01-01T00:00:00Z)")
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_limits(path: Path | None) -> dict[str, Any] | None:
    """Risk limits from a JSON file (``--limits``), as the API takes them."""
    if path is None:
        return None
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        fail_usage(f"--limits: {path} is not a JSON file of risk limits ({error})")
    if not isinstance(loaded, dict):
        fail_usage("--limits: must be a JSON object of risk limits")
    return loaded
