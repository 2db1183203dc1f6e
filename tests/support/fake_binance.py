"""A local server that speaks enough of Binance's spot REST and WebSocket APIs for ccxt to trade on
it, with faults that can be switched on: the exchange we cannot reach, faked at its boundary.

Endpoints: exchangeInfo, time, ticker/24hr, klines (a recorded past, paged by startTime, endTime and
limit, or the current price), order (POST/GET/DELETE), openOrders, myTrades.
Signed endpoints check the API key header, the HMAC-SHA256 signature of the query (or form body)
and the timestamp's receive window, like Binance. Orders match against a price the test sets:
market orders fill at once, limits when the price reaches them, in ``fill_parts`` trades each.

WebSockets: the WebSocket API (``/ws-api/v3``) answers ``userDataStream.subscribe.signature``
(signature checked the same way) and then pushes an ``executionReport`` for every change to an
order (new, each trade, cancelled, expired), as ccxt's ``watch_orders`` reads them; the market
streams (``/ws/<n>``) answer ``SUBSCRIBE`` to ``<symbol>@ticker`` or ``@miniTicker`` with a
``24hrTicker`` or ``24hrMiniTicker`` at once and on every price change. Faults: user-stream
messages can be muted (lost), and every socket dropped.

It runs on its own event loop in a thread, bound to 127.0.0.1 on a free port."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

API_KEY = "fake-binance-key"
SECRET = "fake-binance-secret"
FEE_RATE = Decimal("0.001")

# symbol id: (base, quote, step, tick, min qty, min notional)
SYMBOLS: dict[str, tuple[str, str, str, str, str, str]] = {
    "BTCUSDT": ("BTC", "USDT", "0.00001", "0.01", "0.00001", "5"),
    "ETHUSDT": ("ETH", "USDT", "0.0001", "0.01", "0.0001", "5"),
    "BNBUSDT": ("BNB", "USDT", "0.001", "0.01", "0.001", "5"),
}
BNB_DISCOUNT = Decimal("0.75")  # Binance takes a quarter less when fees are paid in BNB
Kline = tuple[int, str, str, str, str, str]
"""Open time (epoch milliseconds), open, high, low, close, volume."""


def _text(value: Decimal, places: int = 8) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):f}"


@dataclass
class FakeTrade:
    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    maker: bool
    time_ms: int

    def body(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "id": self.trade_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "price": _text(self.price),
            "qty": _text(self.qty),
            "quoteQty": _text(self.price * self.qty),
            "commission": _text(self.commission),
            "commissionAsset": self.commission_asset,
            "time": self.time_ms,
            "isBuyer": self.side == "BUY",
            "isMaker": self.maker,
            "isBestMatch": True,
        }


@dataclass
class FakeOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_ms: int
    status: str = "NEW"
    executed: Decimal = Decimal(0)
    quote: Decimal = Decimal(0)
    update_ms: int = 0
    trades: list[FakeTrade] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    def body(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": _text(self.price or Decimal(0)),
            "origQty": _text(self.quantity),
            "executedQty": _text(self.executed),
            "cummulativeQuoteQty": _text(self.quote),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": _text(self.stop_price or Decimal(0)),
            "icebergQty": "0.00000000",
            "time": self.time_ms,
            "updateTime": self.update_ms or self.time_ms,
            "isWorking": True,
            "workingTime": self.time_ms,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "NONE",
        }


class BinanceError(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


@dataclass
class Faults:
    """Switches for the faults the tests inject; counts are how many requests they hit."""

    answer_late: int = 0  # order POSTs accepted (and matched) whose answer comes after `late_seconds`
    late_seconds: float = 3.0
    throttle: int = 0  # requests answered 429 before anything is done
    unavailable: int = 0  # requests answered 503 before anything is done
    cancel_unknown: int = 0  # cancels answered -2011 "Unknown order sent." whatever the order is
    trades_twice: bool = False  # myTrades lists every trade twice, newest first
    mute_user_stream: bool = False  # order updates are not pushed (lost on the way)
    trades_unavailable: int = 0  # myTrades requests answered 503


class FakeBinance:
    def __init__(self, balances: dict[str, Decimal] | None = None) -> None:
        self.prices: dict[str, Decimal] = {
            "BTCUSDT": Decimal("60000"),
            "ETHUSDT": Decimal("3000"),
            "BNBUSDT": Decimal("600"),
        }
        self.balances: dict[str, Decimal] = dict(balances or {"USDT": Decimal(1_000_000), "BTC": Decimal(10)})
        self.orders: dict[int, FakeOrder] = {}
        self.faults = Faults()
        self.fill_parts = 1
        self.fees_in_bnb = False  # the account pays its fees in BNB, as with Binance's discount
        self.klines: dict[tuple[str, str], list[list[Any]]] = {}  # (symbol, interval) -> klines
        self.requests: Counter[str] = Counter()  # "METHOD path" -> count, faults included
        self._lock = threading.Lock()
        self._next_order = 1000
        self._next_trade = 5000
        self._user_sockets: dict[web.WebSocketResponse, int] = {}  # socket -> subscription id
        self._ticker_sockets: dict[web.WebSocketResponse, set[str]] = {}  # socket -> stream names
        self.stream_requests: list[dict[str, Any]] = []  # what clients sent on the WebSockets
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fake-binance")
        self.port = 0

    # running

    def start(self) -> FakeBinance:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._errors])
        routes = [
            web.get("/api/v3/exchangeInfo", self._exchange_info),
            web.get("/api/v3/time", self._time),
            web.get("/api/v3/ticker/24hr", self._ticker),
            web.get("/api/v3/klines", self._klines),
            web.post("/api/v3/order", self._create),
            web.get("/api/v3/order", self._get),
            web.delete("/api/v3/order", self._cancel),
            web.get("/api/v3/openOrders", self._open_orders),
            web.get("/api/v3/myTrades", self._my_trades),
            web.get("/ws-api/v3", self._ws_api),
            web.get("/ws/{stream}", self._ws_streams),
        ]
        app.add_routes(routes)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.drop_streams()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # what the tests drive and read

    def set_price(self, symbol: str, price: Decimal) -> None:
        with self._lock:
            self.prices[symbol] = price
            for order in sorted(self.orders.values(), key=lambda o: o.order_id):
                if order.open and order.symbol == symbol and self._reached(order, price):
                    self._fill(order, order.price or price, maker=order.type == "LIMIT")
            self._push_ticker(symbol)

    def drop_streams(self) -> None:
        """Closes every WebSocket, as an exchange does at maintenance or after 24 hours."""

        async def drop() -> None:
            for socket in [*self._user_sockets, *self._ticker_sockets]:
                with contextlib.suppress(Exception):
                    await socket.close()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(drop(), self._loop).result(timeout=10)

    def user_streams(self) -> int:
        """How many sockets are subscribed to the account's order updates."""
        return len(self._user_sockets)

    def order_by_client_id(self, client_order_id: str) -> FakeOrder | None:
        with self._lock:
            return self._find(client_order_id)

    def count_orders(self) -> int:
        with self._lock:
            return len(self.orders)

    # middleware: faults, then Binance-shaped errors

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests[f"{request.method} {request.path}"] += 1
        with self._lock:
            if request.path.startswith("/ws"):
                pass  # the REST faults below are not the streams'
            elif self.faults.throttle > 0:
                self.faults.throttle -= 1
                return web.json_response({"code": -1003, "msg": "Too many requests."}, status=429)
            elif self.faults.unavailable > 0:
                self.faults.unavailable -= 1
                return web.Response(status=503, text="Service Unavailable")
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except BinanceError as error:
            return web.json_response({"code": error.code, "msg": error.msg}, status=error.status)

    async def _signed(self, request: web.Request) -> dict[str, str]:
        """The request's parameters, once its key, signature and timestamp check out."""
        body = await request.text() if request.method == "POST" else ""
        query = body or request.query_string
        if request.headers.get("X-MBX-APIKEY") != API_KEY:
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        payload, _, signature = query.rpartition("&signature=")
        return self._checked(payload, signature)

    def _checked(self, payload: str, signature: str) -> dict[str, str]:
        expected = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        params = dict(parse_qsl(payload))
        window = int(params.get("recvWindow", "5000"))
        if abs(int(params.get("timestamp", "0")) - self._now_ms()) > window:
            raise BinanceError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return params

    # public endpoints

    async def _exchange_info(self, request: web.Request) -> web.Response:
        symbols = [
            {
                "symbol": symbol,
                "status": "TRADING",
                "baseAsset": base,
                "baseAssetPrecision": 8,
                "quoteAsset": quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT"],
                "icebergAllowed": True,
                "ocoAllowed": True,
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000", "tickSize": tick},
                    {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": "9000", "stepSize": step},
                    {"filterType": "NOTIONAL", "minNotional": notional, "maxNotional": "9000000"},
                ],
                "permissions": [],
                "permissionSets": [["SPOT"]],
                "defaultSelfTradePreventionMode": "NONE",
                "allowedSelfTradePreventionModes": ["NONE"],
            }
            for symbol, (base, quote, step, tick, min_qty, notional) in SYMBOLS.items()
        ]
        return web.json_response(
            {"timezone": "UTC", "serverTime": self._now_ms(), "rateLimits": [], "symbols": symbols}
        )

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self._now_ms()})

    async def _ticker(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request.query.get("symbol"))
        price = _text(self.prices[symbol])
        now = self._now_ms()
        return web.json_response(
            {
                "symbol": symbol,
                "lastPrice": price,
                "bidPrice": price,
                "askPrice": price,
                "openPrice": price,
                "highPrice": price,
                "lowPrice": price,
                "volume": "0",
                "quoteVolume": "0",
                "openTime": now - 86_400_000,
                "closeTime": now,
                "count": 0,
            }
        )

    async def _klines(self, request: web.Request) -> web.Response:
        """A symbol's recorded klines (``set_klines``) as Binance serves them: open time from
        ``startTime`` on, up to ``endTime``, at most ``limit`` (500 unless asked, 1000 at most),
        oldest first; without ``startTime``, the latest. Otherwise one-minute klines at the current
        price, up to now (enough to test ingestion)."""
        symbol = self._symbol(request.query.get("symbol"))
        recorded = self.klines.get((symbol, request.query.get("interval", "")))
        if recorded is not None:
            return web.json_response(self._recorded_klines(recorded, request.query))
        limit = int(request.query.get("limit", "5"))
        minute = self._now_ms() // 60_000 * 60_000
        start = int(request.query.get("startTime", str(minute - (limit - 1) * 60_000))) // 60_000 * 60_000
        price = _text(self.prices[symbol])
        rows = [
            [t, price, price, price, price, "1.0", t + 59_999, price, 1, "0.5", price, "0"]
            for t in range(start, minute + 1, 60_000)
        ][:limit]
        return web.json_response(rows)

    def set_klines(self, symbol: str, interval: str, klines: list[Kline]) -> None:
        """Records a symbol's past klines of ``interval`` (``1m``, ``1h``, ...): open time in epoch
        milliseconds, open, high, low, close, volume; served by ``/api/v3/klines`` from then on."""
        length = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}[interval[-1]] * int(interval[:-1])
        self.klines[(symbol, interval)] = [
            [t, o, h, low, c, v, t + length - 1, "0", 1, "0", "0", "0"]
            for t, o, h, low, c, v in sorted(klines)
        ]

    @staticmethod
    def _recorded_klines(recorded: list[list[Any]], query: Any) -> list[list[Any]]:
        limit = min(int(query.get("limit", "500")), 1000)
        rows = [
            r
            for r in recorded
            if int(query.get("startTime", "0")) <= r[0] <= int(query.get("endTime", str(2**62)))
        ]
        return rows[:limit] if "startTime" in query else rows[-limit:]

    # signed endpoints

    async def _create(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        with self._lock:
            order = self._accept(params)
            late = self.faults.answer_late > 0
            if late:
                self.faults.answer_late -= 1
            body = order.body() | {"transactTime": order.time_ms, "fills": []}
            body["fills"] = [
                {
                    "price": _text(t.price),
                    "qty": _text(t.qty),
                    "commission": _text(t.commission),
                    "commissionAsset": t.commission_asset,
                    "tradeId": t.trade_id,
                }
                for t in order.trades
            ]
        if late:
            await asyncio.sleep(self.faults.late_seconds)
        return web.json_response(body)

    async def _get(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        with self._lock:
            order = self._order_of(params)
            if order is None:
                raise BinanceError(400, -2013, "Order does not exist.")
            return web.json_response(order.body())

    async def _cancel(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        with self._lock:
            order = self._order_of(params)
            if self.faults.cancel_unknown > 0:
                self.faults.cancel_unknown -= 1
                order = None
            if order is None or not order.open:
                raise BinanceError(400, -2011, "Unknown order sent.")
            order.status = "CANCELED"
            order.update_ms = self._now_ms()
            self._report(order, "CANCELED")
            cancelled = {"origClientOrderId": order.client_order_id, "transactTime": order.update_ms}
            return web.json_response(order.body() | cancelled)

    async def _open_orders(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        symbol = params.get("symbol")
        with self._lock:
            listed = [o.body() for o in self.orders.values() if o.open and symbol in (None, o.symbol)]
        return web.json_response(listed)

    async def _my_trades(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        with self._lock:
            if self.faults.trades_unavailable > 0:
                self.faults.trades_unavailable -= 1
                return web.Response(status=503, text="Service Unavailable")
        symbol = self._symbol(params.get("symbol"))
        with self._lock:
            trades = [
                t.body()
                for o in self.orders.values()
                for t in o.trades
                if o.symbol == symbol and params.get("orderId") in (None, str(o.order_id))
            ]
            if self.faults.trades_twice:
                trades = list(reversed(trades + trades))
        return web.json_response(trades)

    # WebSockets

    async def _ws_api(self, request: web.Request) -> web.WebSocketResponse:
        """The WebSocket API: a signed ``userDataStream.subscribe.signature`` subscribes the socket
        to the account's order updates."""
        socket = web.WebSocketResponse(heartbeat=None)
        await socket.prepare(request)
        try:
            async for asked in self._requests(socket):
                await socket.send_json(self._ws_api_answer(socket, asked))
        finally:
            self._user_sockets.pop(socket, None)
        return socket

    async def _requests(self, socket: web.WebSocketResponse) -> AsyncIterator[dict[str, Any]]:
        """The JSON requests a client sends on ``socket``, each kept in ``stream_requests``."""
        async for message in socket:
            if message.type is WSMsgType.TEXT:
                asked: dict[str, Any] = json.loads(message.data)
                self.stream_requests.append(asked)
                yield asked

    def _ws_api_answer(self, socket: web.WebSocketResponse, asked: dict[str, Any]) -> dict[str, Any]:
        if asked.get("method") != "userDataStream.subscribe.signature":
            return {"id": asked.get("id"), "status": 400, "error": {"code": -1100, "msg": "Unknown method."}}
        params = {k: str(v) for k, v in dict(asked.get("params") or {}).items()}
        signature = params.pop("signature", "")
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        try:
            if params.get("apiKey") != API_KEY:
                raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
            self._checked(payload, signature)
        except BinanceError as error:
            return {
                "id": asked.get("id"),
                "status": error.status,
                "error": {"code": error.code, "msg": error.msg},
            }
        subscription = len(self._user_sockets)
        self._user_sockets[socket] = subscription
        return {"id": asked.get("id"), "status": 200, "result": {"subscriptionId": subscription}}

    async def _ws_streams(self, request: web.Request) -> web.WebSocketResponse:
        """Market streams: ``SUBSCRIBE`` to ``<symbol>@ticker`` (or ``@miniTicker``), then the ticker
        at once and on each change."""
        socket = web.WebSocketResponse(heartbeat=None)
        await socket.prepare(request)
        self._ticker_sockets[socket] = set()
        try:
            async for asked in self._requests(socket):
                streams = [str(name) for name in asked.get("params") or []]
                await socket.send_json({"result": None, "id": asked.get("id")})
                if asked.get("method") == "SUBSCRIBE":
                    self._ticker_sockets[socket] |= set(streams)
                    with self._lock:
                        for symbol in {name.split("@")[0].upper() for name in streams} & set(SYMBOLS):
                            self._push_ticker(symbol)
        finally:
            self._ticker_sockets.pop(socket, None)
        return socket

    def _push_ticker(self, symbol: str) -> None:
        price, now = _text(self.prices[symbol]), self._now_ms()
        mini = {"E": now, "s": symbol, "c": price, "o": price, "h": price, "l": price, "v": "0", "q": "0"}
        full = mini | {"p": "0", "P": "0", "w": price, "x": price, "Q": "0", "b": price, "B": "1"}
        full |= {"a": price, "A": "1", "O": now - 86_400_000, "C": now, "F": 0, "L": 0, "n": 0}
        tickers = {
            f"{symbol.lower()}@miniTicker": {"e": "24hrMiniTicker", **mini},
            f"{symbol.lower()}@ticker": {"e": "24hrTicker", **full},
        }
        for socket, streams in list(self._ticker_sockets.items()):
            for stream in streams & tickers.keys():
                self._send_soon(socket, tickers[stream])

    def _report(self, order: FakeOrder, execution: str, trade: FakeTrade | None = None) -> None:
        """Pushes an ``executionReport`` of ``order`` to the user-stream subscribers."""
        if self.faults.mute_user_stream or not self._user_sockets:
            return
        now = self._now_ms()
        report = {
            "e": "executionReport",
            "E": now,
            "s": order.symbol,
            "c": order.client_order_id if execution != "CANCELED" else f"cancel-{order.order_id}",
            "S": order.side,
            "o": order.type,
            "f": order.time_in_force,
            "q": _text(order.quantity),
            "p": _text(order.price or Decimal(0)),
            "P": _text(order.stop_price or Decimal(0)),
            "F": "0.00000000",
            "g": -1,
            "C": order.client_order_id if execution == "CANCELED" else "",
            "x": execution,
            "X": order.status,
            "r": "NONE",
            "i": order.order_id,
            "l": _text(trade.qty) if trade else "0.00000000",
            "z": _text(order.executed),
            "L": _text(trade.price) if trade else "0.00000000",
            "n": _text(trade.commission) if trade else "0",
            "N": trade.commission_asset if trade else None,
            "T": now,
            "t": trade.trade_id if trade else -1,
            "I": 0,
            "w": order.open,
            "m": trade.maker if trade else False,
            "M": False,
            "O": order.time_ms,
            "Z": _text(order.quote),
            "Y": _text(trade.price * trade.qty) if trade else "0.00000000",
            "Q": "0.00000000",
        }
        for socket, subscription in list(self._user_sockets.items()):
            self._send_soon(socket, {"subscriptionId": subscription, "event": report})

    def _send_soon(self, socket: web.WebSocketResponse, body: dict[str, Any]) -> None:
        """Sends from the server's loop, in call order, from whichever thread changed the state."""

        def send() -> None:
            if not socket.closed:
                self._loop.create_task(socket.send_json(body))

        self._loop.call_soon_threadsafe(send)

    # matching

    def _accept(self, params: dict[str, str]) -> FakeOrder:
        symbol = self._symbol(params.get("symbol"))
        client_order_id = params.get("newClientOrderId") or f"x-{self._next_order}"
        if self._find(client_order_id) is not None:
            raise BinanceError(400, -2010, "Duplicate order sent.")
        side, kind = params["side"], params["type"]
        quantity = Decimal(params["quantity"])
        price = Decimal(params["price"]) if "price" in params else None
        stop = Decimal(params["stopPrice"]) if "stopPrice" in params else None
        base, quote, step, tick, min_qty, notional = SYMBOLS[symbol]
        if quantity % Decimal(step) != 0 or quantity < Decimal(min_qty):
            raise BinanceError(400, -1013, "Filter failure: LOT_SIZE")
        if price is not None and price % Decimal(tick) != 0:
            raise BinanceError(400, -1013, "Filter failure: PRICE_FILTER")
        mark = self.prices[symbol]
        if quantity * (price or mark) < Decimal(notional):
            raise BinanceError(400, -1013, "Filter failure: NOTIONAL")
        needed = quantity * (price or mark) if side == "BUY" else quantity
        if self.balances.get(quote if side == "BUY" else base, Decimal(0)) < needed:
            raise BinanceError(400, -2010, "Account has insufficient balance for requested action.")
        self._next_order += 1
        order = FakeOrder(
            order_id=self._next_order,
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            type=kind,
            time_in_force=params.get("timeInForce", "GTC"),
            quantity=quantity,
            price=price,
            stop_price=stop,
            time_ms=self._now_ms(),
        )
        self.orders[order.order_id] = order
        self._report(order, "NEW")
        if kind == "MARKET" or (kind == "LIMIT" and self._reached(order, mark)):
            self._fill(order, mark if kind == "MARKET" else min(price or mark, mark), maker=False)
        if order.open and order.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"
            self._report(order, "EXPIRED")
        return order

    @staticmethod
    def _reached(order: FakeOrder, price: Decimal) -> bool:
        if order.type in ("STOP_LOSS", "STOP_LOSS_LIMIT"):
            stop = order.stop_price or Decimal(0)
            return price >= stop if order.side == "BUY" else price <= stop
        if order.price is None:
            return order.type == "MARKET"
        return price <= order.price if order.side == "BUY" else price >= order.price

    def _fill(self, order: FakeOrder, price: Decimal, maker: bool) -> None:
        base, quote, step, *_ = SYMBOLS[order.symbol]
        left = order.quantity - order.executed
        part = (left / self.fill_parts).quantize(Decimal(step), rounding=ROUND_DOWN) or left
        while left > 0:
            qty = min(part, left)
            left -= qty
            self._next_trade += 1
            received = base if order.side == "BUY" else quote
            commission = (qty if order.side == "BUY" else qty * price) * FEE_RATE
            if self.fees_in_bnb:
                received = "BNB"
                commission = (qty * price * FEE_RATE * BNB_DISCOUNT / self.prices["BNBUSDT"]).quantize(
                    Decimal("0.00000001"), rounding=ROUND_DOWN
                )
            sign = 1 if order.side == "BUY" else -1
            self.balances[base] = self.balances.get(base, Decimal(0)) + sign * qty
            self.balances[quote] = self.balances.get(quote, Decimal(0)) - sign * qty * price
            self.balances[received] = self.balances.get(received, Decimal(0)) - commission
            order.trades.append(
                FakeTrade(
                    self._next_trade,
                    order.order_id,
                    order.symbol,
                    order.side,
                    price,
                    qty,
                    commission,
                    received,
                    maker,
                    self._now_ms(),
                )
            )
            order.executed += qty
            order.quote += qty * price
            order.status = "FILLED" if left == 0 else "PARTIALLY_FILLED"
            order.update_ms = self._now_ms()
            self._report(order, "TRADE", order.trades[-1])

    # lookups

    def _find(self, client_order_id: str) -> FakeOrder | None:
        return next((o for o in self.orders.values() if o.client_order_id == client_order_id), None)

    def _order_of(self, params: dict[str, str]) -> FakeOrder | None:
        if "origClientOrderId" in params:
            return self._find(params["origClientOrderId"])
        order_id = params.get("orderId")
        return self.orders.get(int(order_id)) if order_id else None

    @staticmethod
    def _symbol(symbol: str | None) -> str:
        if symbol not in SYMBOLS:
            raise BinanceError(400, -1121, "Invalid symbol.")
        return symbol

    @staticmethod
    def _now_ms() -> int:
        return int(time.time() * 1000)
