"""A local fake of the Telegram Bot API, good enough for python-telegram-bot: a real HTTP server (aiohttp,
on its own event loop in a thread) on 127.0.0.1 and a free port, with the real path shape
``/bot<token>/<method>`` (method names case-insensitive), parameters as query string, form
(url-encoded or multipart, the way python-telegram-bot sends them: strings as they are, everything
else JSON-encoded) or a JSON body, and the real answers: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": n, "description": "...", "parameters": {"retry_after": s}}`` with the
HTTP status equal to ``error_code``. A wrong token gets 401 Unauthorized, an unknown method 404.

Methods: ``getMe``; ``sendMessage`` (records chat_id, text, parse_mode; refuses a chat the bot does
not know with "Bad Request: chat not found", a chat that blocked it with 403, an empty or too long
text, and HTML that Telegram could not parse; answers a full Message); ``getUpdates`` (long polling:
the updates from ``offset`` on, confirming those before it, waiting up to ``timeout`` seconds for
one; 409 Conflict while a webhook is set); ``setWebhook``, ``deleteWebhook``, ``getWebhookInfo``
(while a webhook is set, queued updates are POSTed to it, with ``X-Telegram-Bot-Api-Secret-Token``,
until it answers 2xx).

What a test does:

    with FakeTelegram() as telegram:
        bot = telegram.bot()                                  # a telegram.Bot pointed at the fake
        telegram.add_chat(42)                                 # a private chat the bot may write to
        telegram.queue_message(42, "/status")                 # a user writes to the bot
        post = telegram.queue_channel_post(-1001, "BUY BTC")  # a post in a channel the bot is in
        telegram.queue_edit(-1001, post.message_id, "BUY ETH")
        telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
        telegram.delay_next("sendMessage", 2.0)               # a slow answer
        telegram.block(42)                                    # 403 "bot was blocked by the user"
        telegram.sent[0].text, telegram.calls
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
from aiohttp import web
from telegram import Bot

TOKEN = "123456789:AAFakeTokenForTestsOnly-abcdefghijklmno"
ChatType = Literal["private", "group", "supergroup", "channel"]

_INT_PARAMS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "timeout", "max_connections", "reply_to_message_id"}
)
_BOOL_PARAMS = frozenset(
    {"disable_notification", "protect_content", "drop_pending_updates", "disable_web_page_preview"}
)
_HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
        "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_MESSAGE_LIMIT = 4096
_UPDATE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")


@dataclass(frozen=True)
class Call:
    method: str
    """As the client spelled it."""
    params: Mapping[str, Any]


@dataclass(frozen=True)
class SentMessage:
    chat_id: int
    text: str
    """As sent, markup included."""
    parse_mode: str | None
    message_id: int
    params: Mapping[str, Any]


@dataclass(frozen=True)
class QueuedUpdate:
    update_id: int
    chat_id: int
    message_id: int
    update: Mapping[str, Any]


@dataclass(frozen=True)
class _Failure:
    error_code: int
    description: str
    parameters: Mapping[str, int]


@dataclass
class _Webhook:
    url: str = ""
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None
    deliveries: list[Mapping[str, Any]] = field(default_factory=list)


class TelegramApiError(Exception):
    def __init__(self, error_code: int, description: str, parameters: Mapping[str, int] | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = dict(parameters or {})


class _TelegramHtml(HTMLParser):
    """Reads a message the way Telegram's HTML parse mode does, far enough to refuse what it refuses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            self.error = self.error or f'Unsupported start tag "{tag}"'
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.error = self.error or f'Unmatched end tag "{tag}"'
            return
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_text(text: str) -> str:
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.open:
        parser.error = f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"'
    if parser.error is not None:
        raise TelegramApiError(400, f"Bad Request: can't parse entities: {parser.error}")
    return "".join(parser.parts)


def _decode(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _INT_PARAMS and value.lstrip("-").isdigit():
        return int(value)
    if name in _BOOL_PARAMS:
        return value.lower() == "true"
    if value[:1] in ("[", "{"):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


class FakeTelegram:
    """A fake Bot API server; see the module docstring."""

    def __init__(
        self,
        token: str = TOKEN,
        bot_username: str = "tbot_test_bot",
        webhook_retry_seconds: float = 0.2,
    ) -> None:
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.me: dict[str, Any] = {
            "id": int(bot_id) if bot_id.isdigit() else 123456789,
            "is_bot": True,
            "first_name": "tbot test",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._webhook_retry_seconds = webhook_retry_seconds
        self._lock = threading.Lock()
        self._chats: dict[int, dict[str, Any]] = {}
        self._blocked: dict[int, str] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 100_000
        self._failures: dict[str, deque[_Failure]] = {}
        self._delays: dict[str, deque[float]] = {}
        self._sent: list[SentMessage] = []
        self._calls: list[Call] = []
        self._webhook = _Webhook()
        self._loop = asyncio.new_event_loop()
        self._changed: asyncio.Event | None = None
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fake-telegram")
        self.port = 0

    # running

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _serve(self) -> None:
        self._changed = asyncio.Event()
        app = web.Application()
        app.add_routes([web.route("*", "/bot{token}/{method}", self._handle)])
        self._runner = web.AppRunner(app, access_log=None)  # its lines would show the token
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._pusher = asyncio.create_task(self._push_to_webhook())

    async def _shutdown(self) -> None:
        self._closing = True
        self._wake()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        """The Bot API's root, as ``TelegramChannel(api_url=...)`` takes it."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """As ``telegram.Bot(base_url=...)`` takes it (the token is appended)."""
        return f"{self.url}/bot"

    def bot(self, token: str | None = None) -> Bot:
        """A ``telegram.Bot`` talking to this fake (close it: ``async with bot:``)."""
        return Bot(token or self.token, base_url=self.base_url, base_file_url=f"{self.url}/file/bot")

    # what tests arrange

    def add_chat(
        self,
        chat_id: int,
        chat_type: ChatType = "private",
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """A chat the bot knows (so it may write to it); returns its Chat object."""
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name or "Ann"
        else:
            chat["title"] = title or f"{chat_type} {chat_id}"
        if username:
            chat["username"] = username
        with self._lock:
            self._chats[chat_id] = chat
            self._message_ids.setdefault(chat_id, itertools.count(1))
        return dict(chat)

    def block(self, chat_id: int, description: str = "Forbidden: bot was blocked by the user") -> None:
        """The chat refuses the bot from now on (403 with ``description``)."""
        with self._lock:
            self._blocked[chat_id] = description

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with this error (and these parameters)."""
        parameters: dict[str, int] = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        with self._lock:
            queue = self._failures.setdefault(method.lower(), deque())
            queue.extend([_Failure(error_code, description, parameters)] * times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` wait ``seconds`` before they are answered."""
        with self._lock:
            self._delays.setdefault(method.lower(), deque()).extend([seconds] * times)

    def queue_message(
        self,
        chat_id: int,
        text: str,
        *,
        chat_type: ChatType = "private",
        user_id: int | None = None,
        username: str | None = None,
        first_name: str = "Ann",
        title: str | None = None,
        message_id: int | None = None,
    ) -> QueuedUpdate:
        """A user writes ``text`` in a private chat (``user_id`` defaults to the chat id) or a group;
        registers the chat if it is new."""
        chat = self._chat(chat_id, chat_type, title=title, username=username, first_name=first_name)
        sender: dict[str, Any] = {
            "id": user_id if user_id is not None else chat_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "en",
        }
        if username:
            sender["username"] = username
        message = self._message(chat, text, message_id, sender=sender)
        return self._queue("message", message)

    def queue_channel_post(
        self,
        chat_id: int,
        text: str,
        *,
        title: str = "Signals",
        username: str | None = None,
        message_id: int | None = None,
    ) -> QueuedUpdate:
        """A post in a channel the bot is a member of; registers the channel if it is new."""
        chat = self._chat(chat_id, "channel", title=title, username=username)
        message = self._message(chat, text, message_id, sender=None)
        return self._queue("channel_post", message)

    def queue_edit(self, chat_id: int, message_id: int, text: str) -> QueuedUpdate:
        """The message ``message_id`` in ``chat_id`` is edited to ``text``: an ``edited_message``, or
        an ``edited_channel_post`` in a channel."""
        with self._lock:
            original = self._messages.get((chat_id, message_id))
        if original is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        edited = {**original, "text": text, "edit_date": int(time.time())}
        with self._lock:
            self._messages[(chat_id, message_id)] = edited
        kind = "edited_channel_post" if edited["chat"]["type"] == "channel" else "edited_message"
        return self._queue(kind, edited)

    def queue_update(self, update: Mapping[str, Any]) -> int:
        """Any other update, as the Bot API would send it without ``update_id``; returns its id."""
        with self._lock:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, **update})
        self._wake()
        return update_id

    # what tests read

    @property
    def sent(self) -> list[SentMessage]:
        with self._lock:
            return list(self._sent)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset (nor delivered to a webhook)."""
        with self._lock:
            return [dict(update) for update in self._updates]

    @property
    def webhook_deliveries(self) -> list[Mapping[str, Any]]:
        """The updates a webhook acknowledged, in order."""
        with self._lock:
            return list(self._webhook.deliveries)

    # inside

    def _wake(self) -> None:
        def wake() -> None:
            if self._changed is not None:
                self._changed.set()
                self._changed = asyncio.Event()

        if self._loop.is_running():
            self._loop.call_soon_threadsafe(wake)

    def _chat(
        self,
        chat_id: int,
        chat_type: ChatType,
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        return self.add_chat(chat_id, chat_type, title=title, username=username, first_name=first_name)

    def _message(
        self, chat: Mapping[str, Any], text: str, message_id: int | None, sender: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        with self._lock:
            if message_id is None:
                message_id = next(self._message_ids.setdefault(chat["id"], itertools.count(1)))
            message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()), "chat": dict(chat)}
            if sender is not None:
                message["from"] = dict(sender)
            else:
                message["sender_chat"] = dict(chat)
            message["text"] = text
            self._messages[(chat["id"], message_id)] = message
        return message

    def _queue(self, kind: str, message: Mapping[str, Any]) -> QueuedUpdate:
        update_id = self.queue_update({kind: dict(message)})
        return QueuedUpdate(update_id, message["chat"]["id"], message["message_id"], {kind: message})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                params.update({name: value for name, value in form.items() if isinstance(value, str)})
        return {name: _decode(name, value) for name, value in params.items()}

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(TelegramApiError(401, "Unauthorized"))
        try:
            params = await self._params(request)
        except (ValueError, json.JSONDecodeError):
            return self._error(TelegramApiError(400, "Bad Request: can't parse JSON"))
        with self._lock:
            self._calls.append(Call(method, params))
            failures = self._failures.get(method.lower())
            failure = failures.popleft() if failures else None
            delays = self._delays.get(method.lower())
            delay = delays.popleft() if delays else 0.0
        if delay:
            await asyncio.sleep(delay)
        if failure is not None:
            return self._error(TelegramApiError(failure.error_code, failure.description, failure.parameters))
        handler = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
        }.get(method.lower())
        if handler is None:
            return self._error(TelegramApiError(404, "Not Found"))
        try:
            result, description = await handler(params)
        except TelegramApiError as exc:
            return self._error(exc)
        answer: dict[str, Any] = {"ok": True, "result": result}
        if description:
            answer["description"] = description
        return web.json_response(answer)

    @staticmethod
    def _error(exc: TelegramApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": exc.error_code, "description": exc.description}
        if exc.parameters:
            body["parameters"] = exc.parameters
        return web.json_response(body, status=exc.error_code)

    async def _get_me(self, params: Mapping[str, Any]) -> tuple[Any, str | None]:
        return dict(self.me), None

    def _find_chat(self, chat_id: Any) -> dict[str, Any]:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            found = next((c for c in self._chats.values() if f"@{c.get('username')}" == chat_id), None)
        elif isinstance(chat_id, int):
            found = self._chats.get(chat_id)
        else:
            raise TelegramApiError(
                400, "Bad Request: chat_id is empty" if not chat_id else "Bad Request: chat not found"
            )
        if found is None:
            raise TelegramApiError(400, "Bad Request: chat not found")
        return found

    async def _send_message(self, params: Mapping[str, Any]) -> tuple[Any, str | None]:
        text = params.get("text")
        parse_mode = params.get("parse_mode")
        if not isinstance(text, str) or not text.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        shown = _html_text(text) if isinstance(parse_mode, str) and parse_mode.upper() == "HTML" else text
        if not shown.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        if len(shown.encode("utf-16-le")) // 2 > _MESSAGE_LIMIT:
            raise TelegramApiError(400, "Bad Request: message is too long")
        with self._lock:
            chat = self._find_chat(params.get("chat_id"))
            blocked = self._blocked.get(chat["id"])
        if blocked is not None:
            raise TelegramApiError(403, blocked)
        sender = None if chat["type"] == "channel" else self.me
        message = self._message(chat, shown, None, sender=sender)
        with self._lock:
            self._sent.append(
                SentMessage(
                    chat_id=chat["id"],
                    text=text,
                    parse_mode=parse_mode if isinstance(parse_mode, str) else None,
                    message_id=message["message_id"],
                    params=dict(params),
                )
            )
        return message, None

    def _pending(self, offset: int | None, limit: int, allowed: list[str] | None) -> list[dict[str, Any]]:
        with self._lock:
            if offset is not None and offset < 0:
                updates = self._updates[offset:]
            else:
                if offset is not None:  # confirms every update before it
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                updates = list(self._updates)
        if allowed:
            updates = [u for u in updates if any(kind in u for kind in allowed)]
        return updates[:limit]

    async def _get_updates(self, params: Mapping[str, Any]) -> tuple[Any, str | None]:
        with self._lock:
            webhook = self._webhook.url
        if webhook:
            raise TelegramApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates") or None
        deadline = self._loop.time() + timeout
        while True:
            changed = self._changed
            updates = self._pending(offset if isinstance(offset, int) else None, limit, allowed)
            remaining = deadline - self._loop.time()
            if updates or remaining <= 0 or self._closing or changed is None:
                return updates, None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def _set_webhook(self, params: Mapping[str, Any]) -> tuple[Any, str | None]:
        url = params.get("url") or ""
        if not isinstance(url, str):
            raise TelegramApiError(400, "Bad Request: bad webhook: invalid URL")
        if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise TelegramApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        with self._lock:
            if not url:
                self._webhook = _Webhook(deliveries=self._webhook.deliveries)
                return True, "Webhook was deleted"
            self._webhook.url = url
            self._webhook.secret_token = params.get("secret_token")
            self._webhook.allowed_updates = params.get("allowed_updates") or None
            self._webhook.max_connections = int(params.get("max_connections") or 40)
            if params.get("drop_pending_updates"):
                self._updates = []
        self._wake()
        return True, "Webhook was set"

    async def _delete_webhook(self, params: Mapping[str, Any]) -> tuple[Any, str | None]:
        with self._lock:
            had = bool(self._webhook.url)
            self._webhook = _Webhook(deliveries=self._webhook.deliveries)
            if params.get("drop_pending_updates"):
                self._updates = []
        return True, "Webhook was deleted" if had else "Webhook is already deleted"

    async def _get_webhook_info(self, params: Mapping[str, Any]) -> tuple[Any, str | None]:
        with self._lock:
            hook = self._webhook
            info: dict[str, Any] = {
                "url": hook.url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if hook.url:
                info["max_connections"] = hook.max_connections
                if hook.allowed_updates:
                    info["allowed_updates"] = list(hook.allowed_updates)
                if hook.last_error_date is not None:
                    info["last_error_date"] = hook.last_error_date
                    info["last_error_message"] = hook.last_error_message
        return info, None

    async def _push_to_webhook(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            while not self._closing:
                changed = self._changed
                with self._lock:
                    hook = self._webhook
                    url, secret = hook.url, hook.secret_token
                    allowed = hook.allowed_updates
                    update = next(
                        (u for u in self._updates if not allowed or any(k in u for k in allowed)), None
                    )
                if not url or update is None:
                    if changed is not None:
                        await changed.wait()
                    continue
                error = await self._post_update(session, url, secret, update)
                with self._lock:
                    if error is None:
                        self._updates = [u for u in self._updates if u is not update]
                        hook.deliveries.append(update)
                    else:
                        hook.last_error_date = int(time.time())
                        hook.last_error_message = error
                if error is not None:
                    await asyncio.sleep(self._webhook_retry_seconds)

    @staticmethod
    async def _post_update(
        session: aiohttp.ClientSession, url: str, secret: str | None, update: Mapping[str, Any]
    ) -> str | None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        try:
            async with session.post(url, json=update, headers=headers) as response:
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Connection failed: {type(exc).__name__}"
