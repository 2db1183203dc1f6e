"""Every dependency a route may ask for, as an ``Annotated`` alias, in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from application.access import BotOwners, Caller, StoreOwners, require_writer
from application.bus import CommandBus
from application.store import TradingApplication
from domain.ids import TOKEN_PATTERN
from infrastructure.identity import key_id_of
from interfaces.composition import Container
from interfaces.http.errors import RateLimited

_BEARER = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False)
_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="tbot"'}


def container(request: Request) -> Container:
    """The app's container (interfaces/composition.py)."""
    box: Container = request.app.state.container
    return box


Box = Annotated[Container, Depends(container)]


def identify(box: Container, token: str | None, api_key: str | None) -> Caller:
    """The caller, from an API key or a bearer token; 401 without either, 429 over the rate
    limit. Reads the identity tables: call it from a worker thread."""
    caller: Caller | None = None
    if api_key:
        caller = box.identity().by_key(api_key)
    elif token:
        subject = box.tokens().subject(token)
        caller = box.identity().user(subject) if subject is not None else None
    if caller is None:
        raise HTTPException(401, "missing or invalid credentials", headers=_UNAUTHORIZED)
    subject = f"key:{key_id_of(api_key)}" if api_key else f"user:{caller.user_id}"
    wait = box.rate_limiter().hit(subject)
    if wait is not None:
        raise RateLimited(wait)
    return caller


def authenticate(
    request: Request,
    box: Box,
    token: Annotated[str | None, Depends(_BEARER)],
    api_key: Annotated[str | None, Depends(_API_KEY)],
) -> Caller:
    """The caller, from ``X-API-Key`` or ``Authorization: Bearer``. Runs in the thread pool."""
    caller = identify(box, token, api_key)
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(authenticate)]


def writer(caller: CallerDep) -> Caller:
    require_writer(caller)
    return caller


WriterDep = Annotated[Caller, Depends(writer)]


def bus(box: Box) -> CommandBus:
    return box.bus()


def store(box: Box) -> TradingApplication:
    return box.store()


def query_engine(box: Box) -> AsyncEngine:
    return box.query_engine()


def owners(box: Box) -> BotOwners:
    """Bots' owners as the aggregate store has them (what the commands act on)."""
    return StoreOwners(box.store())


BusDep = Annotated[CommandBus, Depends(bus)]
StoreDep = Annotated[TradingApplication, Depends(store)]
OwnersDep = Annotated[BotOwners, Depends(owners)]
QueryEngineDep = Annotated[AsyncEngine, Depends(query_engine)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=64,
        pattern=TOKEN_PATTERN,
        description="repeat a request safely: the same key again returns the first result and records "
        "nothing; 1 to 64 letters, digits, '.', '_', ':' or '-'",
    ),
]
