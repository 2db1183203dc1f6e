"""How the command line reports problems, one line on stderr each and never a traceback: a user
error (bad input, a bad setting, a database `tbot db init` has not prepared) exits 2 naming the
field and the rule; an unreachable store exits 1 with the reason."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import wraps
from typing import NoReturn, ParamSpec, TypeVar

import psycopg
import typer
from eventsourcing.persistence import OperationalError as StoreOperationalError
from eventsourcing.persistence import ProgrammingError as StoreProgrammingError
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError as ReadOperationalError
from sqlalchemy.exc import ProgrammingError as ReadProgrammingError

from application.errors import ConcurrencyConflict, DomainError
from application.gateway import UnknownAccount
from infrastructure.credentials import CredentialsUnavailable
from infrastructure.event_store import StoreUnavailable
from projections.engine.errors import ReadModelsMissing

P = ParamSpec("P")
T = TypeVar("T")
NO_TABLES = "the database has no tbot tables yet: run `tbot db init`"


def report(message: str) -> None:
    """One plain line on stderr (no markup, no wrapping at the terminal's width)."""
    typer.echo(message, err=True)


def fail_usage(message: str) -> NoReturn:
    report(f"error: {message}")
    raise typer.Exit(2)


def missing_table(error: BaseException) -> bool:
    """Whether a database error (eventsourcing's, SQLAlchemy's or the driver's under them) says a
    table does not exist."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, psycopg.errors.UndefinedTable):
            return True
        if isinstance(cause, sqlite3.OperationalError) and str(cause).startswith("no such table"):
            return True
        cause = getattr(cause, "orig", None) or cause.__cause__
    return False


def clear_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Wraps a command so that what a user can cause ends it with one line and exit code 2."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except ValidationError as error:
            for problem in error.errors():
                report(f"error: invalid setting {_setting(problem['loc'])}: {problem['msg']}")
            raise typer.Exit(2) from None
        except ConcurrencyConflict as error:
            report(f"error: {error}")
            raise typer.Exit(1) from None
        except (DomainError, CredentialsUnavailable, UnknownAccount) as error:
            fail_usage(str(error))
        except ReadModelsMissing as error:
            fail_usage(str(error))
        except StoreUnavailable as error:
            report(f"error: {error}")
            raise typer.Exit(1) from None
        except (
            StoreOperationalError,
            StoreProgrammingError,
            ReadOperationalError,
            ReadProgrammingError,
        ) as error:
            if missing_table(error):
                fail_usage(NO_TABLES)
            if isinstance(error, (StoreProgrammingError, ReadProgrammingError)):
                raise
            report(f"error: cannot reach the database: {_first_line(error)}")
            raise typer.Exit(1) from None

    return run


def _setting(loc: tuple[int | str, ...]) -> str:
    """A bad setting's environment variable (the settings name it), then the key or index of the
    bad entry within it: TBOT_PAPER_BALANCES[USDT]."""
    if not loc:
        return "settings"
    return str(loc[0]) + "".join(f"[{part}]" for part in loc[1:])


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
