"""A local stand-in for Binance's Spot Testnet trading API, speaking its real formats.

Signed REST as Binance checks it: `X-MBX-APIKEY`, `timestamp` within `recvWindow` (and at most
1 s ahead), the signature over the query string verified for real — HMAC-SHA256 (hex) or
Ed25519 (base64) against the key registered for the API key. Endpoints: `GET /api/v3/time`,
`POST/GET/DELETE /api/v3/order` (by `origClientOrderId` or `orderId`; `newOrderRespType`
FULL with fills), `GET /api/v3/openOrders`, `GET /api/v3/myTrades` (`fromId`, `limit`),
`GET /api/v3/account`. Exchange filters enforced with Binance's codes and messages (-1013
`Filter failure: LOT_SIZE|PRICE_FILTER|NOTIONAL`, -2010 insufficient balance / duplicate client
id, -2013 / -2011 unknown orders, -1022 bad signature, -1021 timestamp), and
`X-MBX-USED-WEIGHT-1M` / `X-MBX-ORDER-COUNT-10S|1D` on every answer.

Matching: a book around the last candle's close (`spread_bps` between bid and ask, `levels`
price levels a tick apart on each side holding `depth` lots each): a market order walks the
levels — several fills, partial when the book runs out (the rest EXPIRES, as Binance's
market orders do); a limit order fills what crosses and rests; `advance(candle)` moves the
book and fills resting orders the candle crossed. Commission `fee_rate` of what is received.

The WebSocket API at `/ws-api/v3` serves the user data stream: `session.logon` (Ed25519 keys)
then `userDataStream.subscribe`, or `userDataStream.subscribe.signature` (any key), each signed
over its parameters sorted by name and verified; then `executionReport` (NEW, TRADE, CANCELED,
EXPIRED) and `outboundAccountPosition` events as orders change.

Faults on demand (`fail_next`): `lost_answer` (the order is placed, the answer is a 503 —
"execution status unknown"), `unknown` (a -1007 after placing), `rate_limit` (429 with
Retry-After), `ban` (418), and `reset()` (the testnet's monthly wipe: orders, trades and
balances gone, keys kept); `drop_streams()` (every stream connection closes) and
`duplicate_events` (each event sent twice).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from aiohttp import WSMsgType, web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from botrader.core.engine.units import MarketRules

WEIGHTS = {"order": 1, "query": 4, "cancel": 1, "openOrders": 6, "myTrades": 20, "account": 20, "time": 1}


def error(status: int, code: int, msg: str, **headers: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status, headers=headers)


@dataclass
class Key:
    secret: str | None = None  # HMAC
    public: Ed25519PublicKey | None = None  # Ed25519


@dataclass
class Order:
    id: int
    client_id: str
    side: str
    type: str
    qty: Decimal
    price: Decimal | None
    time_ms: int
    status: str = "NEW"
    executed: Decimal = Decimal(0)
    quote: Decimal = Decimal(0)

    def json(self, symbol: str) -> dict[str, Any]:
        return {
            "symbol": symbol,
            "orderId": self.id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "transactTime": self.time_ms,
            "price": f"{self.price or 0:f}",
            "origQty": f"{self.qty:f}",
            "executedQty": f"{self.executed:f}",
            "cummulativeQuoteQty": f"{self.quote:f}",
            "status": self.status,
            "timeInForce": "GTC",
            "type": self.type,
            "side": self.side,
            "time": self.time_ms,
            "updateTime": self.time_ms,
            "isWorking": self.status in ("NEW", "PARTIALLY_FILLED"),
        }


@dataclass
class Trade:
    id: int
    order: Order
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    maker: bool = False

    def json(self, symbol: str) -> dict[str, Any]:
        return {
            "symbol": symbol,
            "id": self.id,
            "orderId": self.order.id,
            "orderListId": -1,
            "price": f"{self.price:f}",
            "qty": f"{self.qty:f}",
            "quoteQty": f"{self.price * self.qty:f}",
            "commission": f"{self.commission:f}",
            "commissionAsset": self.commission_asset,
            "time": self.time_ms,
            "isBuyer": self.order.side == "BUY",
            "isMaker": self.maker,
            "isBestMatch": True,
        }


@dataclass
class Session:
    """A WebSocket API connection: its logged-on key, its subscription, its outbox."""

    socket: web.WebSocketResponse
    api_key: str | None = None
    subscription: int | None = None
    outbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def send_all(self) -> None:
        while True:
            await self.socket.send_json(await self.outbox.get())


@dataclass
class SpotStandIn:
    market: MarketRules = field(default_factory=MarketRules)
    base_asset: str = "BTC"
    quote_asset: str = "USDT"
    balances: dict[str, Decimal] = field(default_factory=lambda: {"BTC": Decimal(1), "USDT": Decimal(10_000)})
    spread_bps: float = 2.0
    levels: int = 5
    depth: Decimal = Decimal("0.05")  # base quantity per price level
    fee_rate: Decimal = Decimal("0.001")
    clock_offset_ms: int = 0  # the venue's clock minus ours
    price_source: Callable[[], float | None] | None = (
        None  # where the book's mid comes from, if not set_price
    )

    def __post_init__(self) -> None:
        self.keys: dict[str, Key] = {}
        self.initial = dict(self.balances)
        self.locked: dict[str, Decimal] = {a: Decimal(0) for a in self.balances}
        self.orders: list[Order] = []
        self.trades: list[Trade] = []
        self.mid = Decimal("100000")
        self.faults: list[str] = []
        self.weight = 0
        self.requests: list[str] = []  # method path, for tests that count calls
        self.placed: list[tuple[str, int, str]] = []  # every order request: client id, status, answer
        self.port = 0
        self._lock = threading.Lock()
        self._next_order = self._next_trade = 1
        self.sessions: list[Session] = []  # WebSocket API connections
        self.subscribed = 0  # user-data-stream subscriptions made, over all connections
        self.duplicate_events = False  # each event sent twice, as a flaky stream may

    # -- setup ---------------------------------------------------------------------------
    def add_hmac_key(self, api_key: str, secret: str) -> None:
        self.keys[api_key] = Key(secret=secret)

    def add_ed25519_key(self, api_key: str, public: Ed25519PublicKey) -> None:
        self.keys[api_key] = Key(public=public)

    def fail_next(self, *faults: str) -> None:
        self.faults.extend(faults)

    def reset(self) -> None:
        """The testnet's monthly wipe: orders, trades and balances as new; keys survive."""
        with self._lock:
            self.orders, self.trades = [], []
            self.balances, self.locked = dict(self.initial), {a: Decimal(0) for a in self.initial}

    def now(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    # -- the book ------------------------------------------------------------------------
    def set_price(self, close: float) -> None:
        with self._lock:
            self.mid = Decimal(str(close))

    def advance(self, high: float, low: float, close: float) -> None:
        """A new candle: resting limit orders it crossed fill at their price, then the book
        moves to its close."""
        with self._lock:
            for order in [o for o in self.orders if o.status in ("NEW", "PARTIALLY_FILLED") and o.price]:
                crossed = (order.side == "BUY" and Decimal(str(low)) <= order.price) or (
                    order.side == "SELL" and Decimal(str(high)) >= order.price
                )
                if crossed:
                    self._execute(order, order.price, order.qty - order.executed, maker=True)
            self.mid = Decimal(str(close))

    def book(self, side: str) -> list[tuple[Decimal, Decimal]]:
        """The levels a taker on `side` takes from, best first: (price, quantity)."""
        tick = self.market.tick_size
        half = (self.mid * Decimal(str(self.spread_bps)) / Decimal(20000)).quantize(tick, rounding=ROUND_DOWN)
        half = max(half, tick)
        step = tick if side == "BUY" else -tick
        best = self.mid + half if side == "BUY" else self.mid - half
        return [(best + i * step, self.depth) for i in range(self.levels)]

    def _execute(self, order: Order, price: Decimal, qty: Decimal, maker: bool = False) -> Trade:
        base, quote = self.base_asset, self.quote_asset
        notional = price * qty
        if order.side == "BUY":
            commission = (qty * self.fee_rate).quantize(self.market.step_size / 1000)
            self.balances[quote] -= notional
            self.balances[base] += qty - commission
            asset = base
        else:
            commission = (notional * self.fee_rate).quantize(Decimal("0.00000001"))
            self.balances[base] -= qty
            self.balances[quote] += notional - commission
            asset = quote
        trade = Trade(self._next_trade, order, price, qty, commission, asset, self.now(), maker)
        self._next_trade += 1
        self.trades.append(trade)
        order.executed += qty
        order.quote += notional
        order.status = "FILLED" if order.executed == order.qty else "PARTIALLY_FILLED"
        self._emit(self._execution_report(order, "TRADE", trade))
        self._emit(self._account_position())
        return trade

    # -- requests ------------------------------------------------------------------------
    def _authorize(self, request: web.Request, query: str) -> web.Response | None:
        payload, _, signature = query.rpartition("&signature=")
        if not payload or not signature:
            return error(
                400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
            )
        refused = self._check(request.headers.get("X-MBX-APIKEY", ""), payload, unquote(signature))
        return None if refused is None else error(400 if refused[0] != -2015 else 401, *refused)

    def _check(self, api_key: str, payload: str, signature: str) -> tuple[int, str] | None:
        """Binance's checks of a signed request: the key, the signature over `payload`, the
        timestamp within the receive window. (code, message) when refused."""
        key = self.keys.get(api_key)
        if key is None:
            return -2015, "Invalid API-key, IP, or permissions for action."
        if key.secret is not None:
            good = hmac.compare_digest(
                hmac.new(key.secret.encode(), payload.encode(), hashlib.sha256).hexdigest(), signature
            )
        else:
            try:
                key.public.verify(base64.b64decode(signature), payload.encode())  # type: ignore[union-attr]
                good = True
            except (InvalidSignature, ValueError):
                good = False
        if not good:
            return -1022, "Signature for this request is not valid."
        params = dict(parse_qsl(payload))
        stamp, window = int(params.get("timestamp", 0)), int(params.get("recvWindow", 5000))
        now = self.now()
        if stamp > now + 1000 or now - stamp > window:
            return -1021, "Timestamp for this request is outside of the recvWindow."
        return None

    def _headers(self, weight: int) -> dict[str, str]:
        self.weight += weight
        placed = [o for o in self.orders if o.time_ms > self.now() - 10_000]
        return {
            "X-MBX-USED-WEIGHT-1M": str(self.weight),
            "X-MBX-ORDER-COUNT-10S": str(len(placed)),
            "X-MBX-ORDER-COUNT-1D": str(len(self.orders)),
        }

    async def handle(self, request: web.Request) -> web.Response:
        query = request.rel_url.raw_query_string
        self.requests.append(f"{request.method} {request.path}")
        if request.path == "/api/v3/time":
            return web.json_response({"serverTime": self.now()}, headers=self._headers(1))
        if self.faults and self.faults[0] in ("rate_limit", "ban"):
            fault = self.faults.pop(0)
            if fault == "rate_limit":
                return error(
                    429,
                    -1003,
                    "Too many requests; please use the websocket for live updates.",
                    **{"Retry-After": "1"},
                )
            return error(
                418, -1003, "Way too many requests; IP banned until later.", **{"Retry-After": "120"}
            )
        refused = self._authorize(request, query)
        if refused is not None:
            return refused
        params = dict(parse_qsl(query))
        with self._lock:
            route = (request.method, request.path)
            if route == ("POST", "/api/v3/order"):
                return self._place(params)
            if route in (("GET", "/api/v3/order"), ("DELETE", "/api/v3/order")):
                return self._order(params, cancel=request.method == "DELETE")
            if route == ("GET", "/api/v3/openOrders"):
                live = [
                    o.json(self.market.symbol) for o in self.orders if o.status in ("NEW", "PARTIALLY_FILLED")
                ]
                return web.json_response(live, headers=self._headers(WEIGHTS["openOrders"]))
            if route == ("GET", "/api/v3/myTrades"):
                start, limit = int(params.get("fromId", 0)), min(int(params.get("limit", 500)), 1000)
                rows = [t.json(self.market.symbol) for t in self.trades if t.id >= start][:limit]
                return web.json_response(rows, headers=self._headers(WEIGHTS["myTrades"]))
            if route == ("GET", "/api/v3/account"):
                rows = [
                    {
                        "asset": a,
                        "free": f"{v - self.locked.get(a, 0):f}",
                        "locked": f"{self.locked.get(a, 0):f}",
                    }
                    for a, v in self.balances.items()
                ]
                return web.json_response(
                    {"canTrade": True, "balances": rows}, headers=self._headers(WEIGHTS["account"])
                )
        return error(404, -1000, f"unknown endpoint {request.method} {request.path}")

    def _place(self, p: dict[str, str]) -> web.Response:
        answer = self._place_order(p)
        self.placed.append((p.get("newClientOrderId", ""), answer.status, answer.text[:60]))
        return answer

    def _place_order(self, p: dict[str, str]) -> web.Response:
        headers = self._headers(WEIGHTS["order"])
        m = self.market
        try:
            qty = Decimal(p["quantity"])
        except (KeyError, ArithmeticError):
            return error(
                400, -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."
            )
        if qty <= 0 or qty % m.step_size:
            return error(400, -1013, "Filter failure: LOT_SIZE")
        price = Decimal(p["price"]) if "price" in p else None
        if price is not None and (price <= 0 or price % m.tick_size):
            return error(400, -1013, "Filter failure: PRICE_FILTER")
        side, kind, client = p.get("side", ""), p.get("type", ""), p.get("newClientOrderId", "")
        if self.price_source is not None and (mid := self.price_source()) is not None:
            self.mid = Decimal(str(mid))
        levels = self.book(side)
        if (price or levels[0][0]) * qty < m.min_notional:
            return error(400, -1013, "Filter failure: NOTIONAL")
        if any(o.client_id == client and o.status in ("NEW", "PARTIALLY_FILLED") for o in self.orders):
            return error(400, -2010, "Duplicate order sent.")
        worst = price or levels[-1][0]
        if (side == "BUY" and self.balances[self.quote_asset] < worst * qty) or (
            side == "SELL" and self.balances[self.base_asset] < qty
        ):
            return error(400, -2010, "Account has insufficient balance for requested action.")
        order = Order(self._next_order, client, side, kind, qty, price, self.now())
        self._next_order += 1
        self.orders.append(order)
        self._emit(self._execution_report(order, "NEW"))
        fills = []
        for level_price, available in levels:
            if order.executed == qty or (
                price is not None
                and ((side == "BUY" and level_price > price) or (side == "SELL" and level_price < price))
            ):
                break
            fills.append(self._execute(order, level_price, min(available, qty - order.executed)))
        if kind == "MARKET" and order.executed < qty:
            order.status = "EXPIRED"  # the book ran out: the rest of a market order expires
            self._emit(self._execution_report(order, "EXPIRED"))
        fault = self.faults.pop(0) if self.faults else None
        if fault == "lost_answer":
            return error(503, 0, "Service Unavailable", **headers)
        if fault == "unknown":
            return error(
                500,
                -1007,
                "Timeout waiting for response from backend server. "
                "Send status unknown; execution status unknown.",
                **headers,
            )
        body = order.json(m.symbol) | {
            "fills": [
                {
                    "price": f"{t.price:f}",
                    "qty": f"{t.qty:f}",
                    "commission": f"{t.commission:f}",
                    "commissionAsset": t.commission_asset,
                    "tradeId": t.id,
                }
                for t in fills
            ]
        }
        return web.json_response(body, headers=headers)

    def _order(self, p: dict[str, str], *, cancel: bool) -> web.Response:
        headers = self._headers(WEIGHTS["cancel" if cancel else "query"])
        found = [
            o
            for o in self.orders
            if o.client_id == p.get("origClientOrderId") or str(o.id) == p.get("orderId")
        ]
        if not found:
            if cancel:
                return error(400, -2011, "Unknown order sent.", **headers)
            return error(400, -2013, "Order does not exist.", **headers)
        order = found[-1]
        if cancel:
            if order.status not in ("NEW", "PARTIALLY_FILLED"):
                return error(400, -2011, "Unknown order sent.", **headers)
            order.status = "CANCELED"
            self._emit(self._execution_report(order, "CANCELED"))
        return web.json_response(order.json(self.market.symbol), headers=headers)

    # -- the WebSocket API: user data stream -----------------------------------------------
    async def ws_api(self, request: web.Request) -> web.WebSocketResponse:
        """One WebSocket API connection: requests answered in order, events pushed as they
        happen, all through one outbox (one writer per socket)."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        session = Session(socket)
        self.sessions.append(session)
        sender = asyncio.create_task(session.send_all())
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    with self._lock:
                        session.outbox.put_nowait(self._ws_request(session, json.loads(message.data)))
        finally:
            sender.cancel()
            self.sessions.remove(session)
        return socket

    def _ws_request(self, session: Session, request: dict[str, Any]) -> dict[str, Any]:
        method, params = request.get("method"), dict(request.get("params") or {})

        def refused(code: int, msg: str) -> dict[str, Any]:
            return {"id": request.get("id"), "status": 400, "error": {"code": code, "msg": msg}}

        if method in ("session.logon", "userDataStream.subscribe.signature"):
            signature = str(params.pop("signature", ""))
            payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
            problem = self._check(str(params.get("apiKey", "")), payload, signature)
            if problem is not None:
                return refused(*problem)
            key = self.keys[str(params["apiKey"])]
            if method == "session.logon":
                if key.public is None:
                    return refused(-4056, "HMAC_SHA256 API key is not supported.")
                session.api_key = str(params["apiKey"])
                return {"id": request.get("id"), "status": 200, "result": {"apiKey": session.api_key}}
        elif method == "userDataStream.subscribe":
            if session.api_key is None:
                return refused(-2015, "Invalid API-key, IP, or permissions for action.")
        else:
            return refused(-1000, f"unknown method {method}")
        session.subscription = self.subscribed
        self.subscribed += 1
        return {"id": request.get("id"), "status": 200, "result": {"subscriptionId": session.subscription}}

    def _emit(self, event: dict[str, Any]) -> None:
        """Push `event` to every subscribed connection (from any thread)."""
        for session in self.sessions:
            if session.subscription is not None:
                message = {"subscriptionId": session.subscription, "event": event}
                for _ in range(2 if self.duplicate_events else 1):
                    self._loop.call_soon_threadsafe(session.outbox.put_nowait, message)

    def drop_streams(self) -> None:
        """The fault: every WebSocket API connection closes; events until a new subscription
        are lost to it."""
        for session in list(self.sessions):
            session.subscription = None
            asyncio.run_coroutine_threadsafe(session.socket.close(), self._loop)

    def _execution_report(self, order: Order, kind: str, trade: Trade | None = None) -> dict[str, Any]:
        now = self.now()
        return {
            "e": "executionReport",
            "E": now,
            "s": self.market.symbol,
            "c": f"cancel-{order.id}" if kind == "CANCELED" else order.client_id,
            "S": order.side,
            "o": order.type,
            "f": "GTC",
            "q": f"{order.qty:f}",
            "p": f"{order.price or 0:f}",
            "C": order.client_id if kind == "CANCELED" else "",
            "x": kind,
            "X": order.status,
            "r": "NONE",
            "i": order.id,
            "l": f"{trade.qty:f}" if trade else "0",
            "z": f"{order.executed:f}",
            "L": f"{trade.price:f}" if trade else "0",
            "n": f"{trade.commission:f}" if trade else "0",
            "N": trade.commission_asset if trade else None,
            "T": trade.time_ms if trade else now,
            "t": trade.id if trade else -1,
            "w": order.status in ("NEW", "PARTIALLY_FILLED"),
            "m": bool(trade and trade.maker),
            "O": order.time_ms,
            "Z": f"{order.quote:f}",
            "Y": f"{trade.price * trade.qty:f}" if trade else "0",
        }

    def _account_position(self) -> dict[str, Any]:
        now = self.now()
        rows = [
            {"a": a, "f": f"{v - self.locked.get(a, 0):f}", "l": f"{self.locked.get(a, 0):f}"}
            for a, v in self.balances.items()
        ]
        return {"e": "outboundAccountPosition", "E": now, "u": now, "B": rows}

    # -- serving -------------------------------------------------------------------------
    def start(self) -> SpotStandIn:
        """Serve on a free loopback port from a thread of its own."""
        ready = threading.Event()

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            app = web.Application()
            app.router.add_get("/ws-api/v3", self.ws_api)
            app.router.add_route("*", "/{tail:.*}", self.handle)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            while not self._stopping:
                await asyncio.sleep(0.05)
            await self._runner.cleanup()

        self._stopping = False
        self._thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        self._stopping = True
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws-api/v3"

    def __enter__(self) -> SpotStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def latest_close(db: Path) -> float | None:
    """The newest stored candle's close in a SQLite database: where a stand-in's book sits
    while a bot trades a replay in another process (`price_source`)."""
    try:
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT close FROM candles ORDER BY open_time DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None
