"""A client of the live feed (`GET /v1/feed`) over a real WebSocket, for tests and benchmarks."""

from __future__ import annotations

import json
import socket
import time
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlencode

from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.sync.client import ClientConnection, connect
from websockets.uri import parse_uri

from tests.support.api import Api


def feed_url(api: Api, after: int | None, prices: str | None = None) -> str:
    query = {"after": after, "prices": prices}
    asked = urlencode({name: value for name, value in query.items() if value is not None}, safe="/,*")
    return api.base_url.replace("http://", "ws://") + "/v1/feed" + (f"?{asked}" if asked else "")


class FeedClient:
    def __init__(self, api: Api, user: str, after: int | None = None, prices: str | None = None) -> None:
        self._stack = ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(
                feed_url(api, after, prices),
                additional_headers={"X-API-Key": api.keys[user]},
                open_timeout=10,
            )
        )
        self.subscribed = self.next()
        assert self.subscribed["type"] == "subscribed", self.subscribed

    def next(self, timeout: float = 20) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout))
        return message

    def events_through(self, position: int, timeout: float = 30) -> list[dict[str, Any]]:
        """The events received until the feed has accounted for everything up to ``position``
        (an event or a heartbeat at or past it)."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(timeout=max(0.1, deadline - time.monotonic()))
            assert message["type"] in ("event", "heartbeat"), message
            if message["type"] == "event":
                events.append(message)
            if message["position"] >= position:
                return events

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class StalledClient:
    """A client that subscribes and then reads nothing until asked to: no background reader,
    a small receive buffer, so the server's sends back up (sans-I/O websockets on a plain socket)."""

    def __init__(self, api: Api, user: str, after: int | None = None) -> None:
        host, port = api.base_url.removeprefix("http://").split(":")
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((host, int(port)))
        self.protocol = ClientProtocol(parse_uri(feed_url(api, after)))
        request = self.protocol.connect()
        request.headers["X-API-Key"] = api.keys[user]
        self.protocol.send_request(request)
        self._flush()
        while self.protocol.state is State.CONNECTING:
            self.protocol.receive_data(self.sock.recv(65536))
        assert self.protocol.state is State.OPEN, self.protocol.handshake_exc

    def _flush(self) -> None:
        self.sock.sendall(b"".join(self.protocol.data_to_send()))

    def read_all(self, timeout: float = 30) -> tuple[list[dict[str, Any]], Close | None]:
        """Everything the server sent, until it closed: the messages, and its close frame."""
        self.sock.settimeout(timeout)
        messages: list[dict[str, Any]] = []
        while True:
            data = self.sock.recv(1 << 20)
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            for event in self.protocol.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                    messages.append(json.loads(bytes(event.data)))
            self._flush()  # answers pings and the closing handshake
            if not data or self.protocol.state is State.CLOSED:
                return messages, self.protocol.close_rcvd

    def close(self) -> None:
        self.sock.close()
