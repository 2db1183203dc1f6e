"""How the command line reports problems: bad input exits 2 naming what is wrong; an unreachable
or unprepared store exits 1 with the reason."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import NoReturn, ParamSpec, TypeVar

import typer
from eventsourcing.persistence import OperationalError as StoreOperationalError
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import OperationalError as ReadOperationalError

from infrastructure.event_store import StoreUnavailable
from projections.errors import ReadModelsMissing

P = ParamSpec("P")
T = TypeVar("T")
errors = Console(stderr=True)


def fail_usage(message: str) -> NoReturn:
    errors.print(f"error: {message}")
    raise typer.Exit(2)


def clear_errors(command: Callable[P, T]) -> Callable[P, T]:
    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except ValidationError as error:
            for problem in error.errors():
                name = ".".join(str(part) for part in problem["loc"]) or "settings"
                errors.print(f"invalid setting {name}: {problem['msg']}")
            raise typer.Exit(2) from None
        except (StoreUnavailable, ReadModelsMissing) as error:
            errors.print(str(error))
            raise typer.Exit(1) from None
        except (StoreOperationalError, ReadOperationalError) as error:
            errors.print(f"cannot reach the database: {error}")
            raise typer.Exit(1) from None

    return run
