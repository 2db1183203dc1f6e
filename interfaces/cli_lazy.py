"""A command group whose sub-commands are imported when they are used: `tbot audit state` does not
import ccxt, matplotlib or Optuna, which only other commands need (each costs most of a second at
start)."""

from __future__ import annotations

import importlib
from typing import ClassVar

import typer
from typer import _click as click  # Typer's own click, whose classes its groups take
from typer.core import TyperGroup


class LazyGroup(TyperGroup):
    """``GROUPS`` names each group's Typer app as (module, attribute); ``COMMANDS`` each command's,
    a Typer app of that one command."""

    GROUPS: ClassVar[dict[str, tuple[str, str]]] = {}
    COMMANDS: ClassVar[dict[str, tuple[str, str]]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.GROUPS, *self.COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.GROUPS:
            command: click.Command = typer.main.get_group(self._typer(self.GROUPS[cmd_name]))
        elif cmd_name in self.COMMANDS:
            command = typer.main.get_command(self._typer(self.COMMANDS[cmd_name]))
        else:
            return super().get_command(ctx, cmd_name)
        command.name = cmd_name
        return command

    @staticmethod
    def _typer(where: tuple[str, str]) -> typer.Typer:
        module, attribute = where
        found: typer.Typer = getattr(importlib.import_module(module), attribute)
        return found
