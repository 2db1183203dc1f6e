"""The live feed's credential offered as WebSocket subprotocols, for browsers: their WebSocket API
cannot set ``X-API-Key`` or ``Authorization`` on the handshake, but it can list subprotocols, which
travel in the ``Sec-WebSocket-Protocol`` header, so the credential stays out of URLs and access logs.

The client offers ``tbot.feed`` and one of ``tbot.key.<API key>`` or ``tbot.bearer.<token>``; the
server answers with ``tbot.feed`` only, never echoing the credential back."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import WebSocket

FEED_PROTOCOL = "tbot.feed"
KEY_PREFIX = "tbot.key."
BEARER_PREFIX = "tbot.bearer."


@dataclass(frozen=True, slots=True)
class FeedCredential:
    """What the handshake offered as subprotocols: at most one credential, and the subprotocol to
    accept (``tbot.feed`` when offered, otherwise none)."""

    api_key: str | None = None
    bearer: str | None = None
    subprotocol: str | None = None


def offered_credential(websocket: WebSocket) -> FeedCredential:
    offered: list[str] = list(websocket.scope.get("subprotocols") or [])
    keys = [p.removeprefix(KEY_PREFIX) for p in offered if p.startswith(KEY_PREFIX)]
    bearers = [p.removeprefix(BEARER_PREFIX) for p in offered if p.startswith(BEARER_PREFIX)]
    return FeedCredential(
        api_key=keys[0] if keys and keys[0] else None,
        bearer=bearers[0] if bearers and bearers[0] else None,
        subprotocol=FEED_PROTOCOL if FEED_PROTOCOL in offered else None,
    )
