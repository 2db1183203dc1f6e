"""A ccxt (async) exchange object for an account's credentials: sandbox mode if asked, the API's
host replaced when the account names one (a proxy, a local test server). Exchanges ccxt can also
follow over WebSockets come as their ``ccxt.pro`` class, which adds ``watch_*`` to the REST API."""

from __future__ import annotations

import decimal
from collections.abc import Awaitable, Callable, Coroutine
from decimal import Decimal
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit

import ccxt.async_support as ccxt
import ccxt.pro as ccxt_pro

from infrastructure.credentials import ExchangeCredentials

# Spot only: on Binance, load markets from exchangeInfo alone (no currencies, margins or futures).
SPOT_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False},
}


P = ParamSpec("P")
T = TypeVar("T")


def own_decimal_context(call: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Runs a coroutine that uses ccxt in a decimal context of its own. ccxt's precision functions
    change the *current* decimal context (rounding half up, underflow trapped), which would
    otherwise leak into every later Decimal operation of the thread, our money arithmetic
    included."""

    @wraps(call)
    async def isolated(*args: P.args, **kwargs: P.kwargs) -> T:
        with decimal.localcontext():
            return await call(*args, **kwargs)

    return isolated


def ccxt_decimal(value: Any) -> Decimal:
    """A number from ccxt as the exchange wrote it. ccxt parses the exchange's decimal strings into
    floats; ``repr`` gives the shortest string that round-trips, which is the exchange's own digits
    for any value of up to 15 significant digits."""
    text = repr(value) if isinstance(value, float) else str(value)
    return Decimal(text.removesuffix(".0"))


def _rehost(urls: Any, base: str) -> Any:
    """``urls`` with every URL's host replaced by ``base``'s, paths kept; the scheme is ``base``'s
    for HTTP and its WebSocket counterpart (ws, wss) for WebSockets."""
    if isinstance(urls, dict):
        return {name: _rehost(url, base) for name, url in urls.items()}
    if isinstance(urls, str) and urls.startswith(("http", "ws")):
        scheme, host, *_ = urlsplit(base)
        if urls.startswith("ws"):
            scheme = "wss" if scheme == "https" else "ws"
        _, _, path, query, fragment = urlsplit(urls)
        return urlunsplit((scheme, host, path, query, fragment))
    return urls


def open_exchange(credentials: ExchangeCredentials, timeout_seconds: float) -> ccxt.Exchange:
    exchange_id = credentials.exchange_id
    exchange_class = getattr(ccxt_pro, exchange_id, None) or getattr(ccxt, exchange_id)
    exchange: ccxt.Exchange = exchange_class(
        {
            "apiKey": credentials.api_key,
            "secret": credentials.secret,
            "enableRateLimit": True,
            "timeout": int(timeout_seconds * 1000),
            "options": dict(SPOT_OPTIONS.get(credentials.exchange_id, {})),
        }
    )
    if credentials.sandbox:
        exchange.set_sandbox_mode(True)
    if credentials.api_url:
        exchange.urls["api"] = _rehost(exchange.urls["api"], credentials.api_url)
    return exchange
