"""A user's notification channels and deliveries (docs/notifications.md, "Choosing what to be told").

``/v1/notifications/channels``: list, add, change (kinds, enabled) and remove the caller's own
channels; another user's channel is a 404. A webhook's secret is taken once, sealed, and never
returned (``has_secret``). ``/v1/notifications/deliveries``: the caller's recent deliveries, newest
first; ``?status=dead`` only those given up."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from application.errors import InvalidInput, NotFound
from application.notifications.kinds import KINDS
from application.notifications.ports import email_address, telegram_chat_id, webhook_url
from infrastructure.credentials import CredentialsUnavailable
from infrastructure.notification_channels import ChannelInfo, DeliveryRow
from interfaces.http.deps import Box, CallerDep, WriterDep
from interfaces.http.schemas import ERRORS

router = APIRouter(prefix="/v1/notifications", tags=["notifications"], responses=ERRORS)
_SECRET_LIMIT = 256
_MAX_CHANNELS = 20


class ChannelBody(BaseModel):
    """A destination and the kinds it wants. ``target``: the webhook's URL, the email address, or
    the Telegram chat id (or a public channel's @username). ``secret``: the webhook's signing
    secret (required for a webhook, refused for the others)."""

    model_config = ConfigDict(extra="forbid")

    channel: Literal["webhook", "email", "telegram"]
    target: str = Field(min_length=1, max_length=2048, examples=["https://example.com/hooks/tbot"])
    secret: str | None = Field(default=None, min_length=16, max_length=_SECRET_LIMIT)
    kinds: list[str] = Field(min_length=1, max_length=len(KINDS), examples=[["order_filled"]])
    enabled: bool = True


class ChannelChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kinds: list[str] | None = Field(default=None, min_length=1, max_length=len(KINDS))
    enabled: bool | None = None


class ChannelView(BaseModel):
    id: UUID
    channel: str
    target: str
    has_secret: bool
    kinds: list[str]
    enabled: bool
    created_at: datetime


class DeliveryView(BaseModel):
    id: UUID = Field(description="the Delivery aggregate's id: uuid5 of the source and the channel")
    channel_id: UUID
    channel: str
    kind: str
    source: str = Field(description="what was notified: event:<position>, or daily_pnl:<day>:<bot id>")
    position: int | None = Field(description="the event's position in the store (none for a daily summary)")
    status: Literal["sent", "dead"]
    attempts: int
    error: str | None = Field(description="why it was given up (short; never a secret or a URL)")
    at: datetime


def _kinds(kinds: list[str]) -> list[str]:
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise InvalidInput("kinds", f"unknown kind {unknown[0]!r}; one of {', '.join(KINDS)}")
    return sorted(set(kinds))


def _view(info: ChannelInfo) -> ChannelView:
    return ChannelView(
        id=info.id,
        channel=info.channel,
        target=info.target,
        has_secret=info.has_secret,
        kinds=info.kinds,
        enabled=info.enabled,
        created_at=info.created_at,
    )


def _target(body: ChannelBody) -> str:
    if body.channel == "webhook":
        if body.secret is None:
            raise InvalidInput("secret", "a webhook needs a signing secret (16 to 256 characters)")
        return webhook_url(body.target)
    if body.secret is not None:
        raise InvalidInput("secret", f"an {body.channel} channel takes no secret")
    if body.channel == "email":
        return email_address(body.target)
    return str(telegram_chat_id(body.target))


def _checked_target(body: ChannelBody) -> str:
    """The destination checked by the channels' own validators; a breach names ``target``."""
    try:
        return _target(body)
    except InvalidInput as error:
        if error.field == "secret":
            raise
        raise InvalidInput("target", error.rule) from error


@router.get("/channels", response_model=list[ChannelView])
def list_channels(caller: CallerDep, box: Box) -> list[ChannelView]:
    """The caller's channels (never a secret: ``has_secret`` says whether one is kept)."""
    return [_view(c) for c in box.notification_channels().of_user(caller.user_id)]


@router.post("/channels", status_code=201, response_model=ChannelView)
def add_channel(body: ChannelBody, caller: WriterDep, box: Box, response: Response) -> ChannelView:
    """Add a channel. 422 naming the field and the rule for a bad URL, address, chat id or kind."""
    target = _checked_target(body)
    kinds = _kinds(body.kinds)
    channels = box.notification_channels()
    if len(channels.of_user(caller.user_id)) >= _MAX_CHANNELS:
        raise InvalidInput("channel", f"at most {_MAX_CHANNELS} channels per user")
    try:
        info = channels.add(caller.user_id, body.channel, target, body.secret, kinds, body.enabled)
    except CredentialsUnavailable as error:  # the server's setting, but a webhook is what cannot be
        raise InvalidInput(
            "channel", "webhooks are off on this server: it has no TBOT_CREDENTIALS_KEY to seal their secrets"
        ) from error
    response.headers["Location"] = f"/v1/notifications/channels/{info.id}"
    return _view(info)


@router.put("/channels/{channel_id}", response_model=ChannelView)
def change_channel(channel_id: UUID, body: ChannelChange, caller: WriterDep, box: Box) -> ChannelView:
    """Change the kinds a channel wants, or turn it on or off (404 for another user's)."""
    kinds = _kinds(body.kinds) if body.kinds is not None else None
    info = box.notification_channels().change(caller.user_id, channel_id, kinds, body.enabled)
    if info is None:
        raise NotFound("channel", channel_id)
    return _view(info)


@router.delete("/channels/{channel_id}", status_code=204)
def remove_channel(channel_id: UUID, caller: WriterDep, box: Box) -> Response:
    """Remove a channel (404 for another user's). Its recorded deliveries stay."""
    if not box.notification_channels().remove(caller.user_id, channel_id):
        raise NotFound("channel", channel_id)
    return Response(status_code=204)


@router.get("/deliveries", response_model=list[DeliveryView])
def list_deliveries(
    caller: CallerDep,
    box: Box,
    status: Annotated[Literal["sent", "dead"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryView]:
    """The caller's deliveries, newest first; ``status=dead`` lists those given up (dead letters)."""
    return [_delivery(d) for d in box.notification_channels().deliveries(caller.user_id, status, limit)]


def _delivery(row: DeliveryRow) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        channel_id=row.channel_id,
        channel=row.channel,
        kind=row.kind,
        source=row.source,
        position=row.position,
        status="dead" if row.status == "dead" else "sent",
        attempts=row.attempts,
        error=row.error,
        at=row.at,
    )
