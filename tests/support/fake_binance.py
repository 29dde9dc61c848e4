"""A local server that speaks Binance spot's (or, with `market="usdm"`, USD-M's) real
market-data formats, with fault injection.

REST: `GET /api/v3/klines` (array rows, `X-MBX-USED-WEIGHT-1M`, 429/418 + `Retry-After`,
`{"code": -1121, "msg": "Invalid symbol."}` errors), `/api/v3/exchangeInfo`, `/api/v3/time`,
`/api/v3/ping` (USD-M: the same under `/fapi/v1`, exchangeInfo without a symbol filter,
`/fapi/v1/fundingRate`, `/fapi/v1/markPriceKlines`, `/fapi/v1/fundingInfo` and the signed
`/fapi/v1/leverageBracket`; its stream under `/market/stream`).
WebSocket: the combined stream `/stream?streams=btcusdt@kline_1m/...` with
`{"stream": ..., "data": {"e": "kline", "k": {...}}}` payloads, an `x: false` update before
each closing `x: true` message, and pings from the server (aiohttp heartbeat).

The server owns a clock: candles whose close time has passed are history (REST); the
stream advances the clock one candle at a time. Faults: dropped connections (the clock
keeps running while the client is away, so it must backfill the hole), duplicate,
out-of-order, withheld and malformed messages, and rate-limit answers.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from aiohttp import WSMsgType, web

from botrader.core.candles import Candle
from botrader.core.data.files import frame_to_candles
from botrader.core.intervals import INTERVAL_MS
from botrader.core.resample import resample


@dataclass
class Faults:
    drop_after: list[int] = field(default_factory=list)  # per connection: close after N finals
    advance_while_down: int = 0  # candles that close while the client is disconnected
    duplicate_every: int = 0  # send every n-th final twice
    swap_every: int = 0  # send every n-th final before its predecessor
    malformed_every: int = 0  # a broken frame before every n-th final
    withhold: set[int] = field(default_factory=set)  # open times never sent on the stream
    rest_429: int = 0  # first N klines requests answered 429
    rest_418: int = 0  # then N answered 418
    retry_after: str = "1"
    heartbeat: float | None = None  # server ping interval (s); the client must pong


def _num(x: float) -> str:
    return f"{x:.8f}"


def kline_payload(symbol: str, interval: str, c: Candle, *, closed: bool, event_time: int) -> dict[str, Any]:
    step = INTERVAL_MS[interval]
    return {
        "e": "kline",
        "E": event_time,
        "s": symbol,
        "k": {
            "t": c.open_time,
            "T": c.open_time + step - 1,
            "s": symbol,
            "i": interval,
            "f": 100,
            "L": 200,
            "o": _num(c.open),
            "c": _num(c.close),
            "h": _num(c.high),
            "l": _num(c.low),
            "v": _num(c.volume),
            "n": c.trades or 0,
            "x": closed,
            "q": _num(c.quote_volume or 0.0),
            "V": "0.00000000",
            "Q": "0.00000000",
            "B": "0",
        },
    }


def rest_row(interval: str, c: Candle) -> list[Any]:
    step = INTERVAL_MS[interval]
    return [
        c.open_time,
        _num(c.open),
        _num(c.high),
        _num(c.low),
        _num(c.close),
        _num(c.volume),
        c.open_time + step - 1,
        _num(c.quote_volume or 0.0),
        c.trades or 0,
        "0",
        "0",
        "0",
    ]


class FakeBinance:
    def __init__(
        self,
        series: dict[tuple[str, str], Sequence[Candle]],
        *,
        start_index: int = 0,
        faults: Faults | None = None,
        pace: float = 0.0,
        filters: dict[str, tuple[str, str, str]] | None = None,
        market: str = "spot",
        funding: dict[str, list[tuple[int, str]]] | None = None,
        marks: dict[tuple[str, str], Sequence[Candle]] | None = None,
        brackets: dict[str, list[dict[str, Any]]] | None = None,
        funding_hours: dict[str, int] | None = None,
        api_credentials: tuple[str, str] | None = None,
    ) -> None:
        self.series = {k: list(v) for k, v in series.items()}
        self._index = {k: {c.open_time: c for c in v} for k, v in self.series.items()}
        self.faults = faults or Faults()
        self.pace = pace  # seconds between streamed candles
        self.filters = filters or {}  # symbol -> (tickSize, stepSize, minNotional); BTCUSDT's by default
        self.market = market  # spot (/api/v3, /stream) or usdm (/fapi/v1, /market/stream)
        self.funding = funding or {}  # usdm: symbol -> [(fundingTime ms as published, rate)]
        self.funding_requests = 0
        self.marks = {k: list(v) for k, v in (marks or {}).items()}  # usdm: (symbol, interval) -> mark klines
        self.brackets = brackets or {}  # usdm: leverageBracket's answer, symbol -> brackets
        self.funding_hours = funding_hours or {}  # usdm: fundingInfo's adjusted intervals
        self.api_credentials = api_credentials  # usdm: (api key, HMAC secret) for signed endpoints
        first = next(iter(self.series.values()))
        self.now_ms = first[start_index].open_time  # candles before start_index are history
        self.sent_at: dict[int, float] = {}  # open_time -> perf_counter when its final went out
        self.connections = 0
        self.klines_requests = 0
        self.used_weight = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    # clock ------------------------------------------------------------------------------
    def clock(self) -> int:
        return self.now_ms

    def _step(self) -> int:
        return INTERVAL_MS[next(iter(self.series))[1]]

    def closed(self, key: tuple[str, str]) -> list[Candle]:
        step = INTERVAL_MS[key[1]]
        return [c for c in self.series[key] if c.open_time + step <= self.now_ms]

    def exhausted(self) -> bool:
        step = self._step()
        return all(self.now_ms >= s[-1].open_time + step for s in self.series.values())

    # server -------------------------------------------------------------------------------
    async def start(self) -> FakeBinance:
        app = web.Application()
        api = "/fapi/v1" if self.market == "usdm" else "/api/v3"
        app.router.add_get(f"{api}/klines", self._klines)
        app.router.add_get(f"{api}/exchangeInfo", self._exchange_info)
        app.router.add_get(f"{api}/time", self._time)
        app.router.add_get(f"{api}/ping", self._ping)
        if self.market == "usdm":
            app.router.add_get("/fapi/v1/fundingRate", self._funding_rate)
            app.router.add_get("/fapi/v1/markPriceKlines", self._mark_klines)
            app.router.add_get("/fapi/v1/fundingInfo", self._funding_info)
            app.router.add_get("/fapi/v1/leverageBracket", self._leverage_bracket)
            app.router.add_get("/market/stream", self._stream)  # USD-M's market-data host since 2026
        else:
            app.router.add_get("/stream", self._stream)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}" + ("/market" if self.market == "usdm" else "")

    def _symbols(self) -> set[str]:
        return {s for s, _ in self.series}

    @staticmethod
    def _error(code: int, msg: str, status: int = 400) -> web.Response:
        return web.json_response({"code": code, "msg": msg}, status=status)

    async def _klines(self, request: web.Request) -> web.Response:
        self.klines_requests += 1
        f = self.faults
        if f.rest_429 > 0:
            f.rest_429 -= 1
            return web.json_response(
                {"code": -1003, "msg": "Too many requests."},
                status=429,
                headers={"Retry-After": f.retry_after},
            )
        if f.rest_418 > 0:
            f.rest_418 -= 1
            return web.json_response(
                {"code": -1003, "msg": "Way too many requests; IP banned."},
                status=418,
                headers={"Retry-After": f.retry_after},
            )
        q = request.query
        symbol, interval = q.get("symbol", ""), q.get("interval", "")
        if symbol not in self._symbols():
            return self._error(-1121, "Invalid symbol.")
        if interval not in INTERVAL_MS or (symbol, interval) not in self.series:
            return self._error(-1120, "Invalid interval.")
        start = int(q.get("startTime", 0))
        end = int(q.get("endTime", 2**62))
        limit = min(int(q.get("limit", 500)), 1000)
        rows = [
            rest_row(interval, c)
            for c in self.series[(symbol, interval)]
            if start <= c.open_time <= end and c.open_time <= self.now_ms
        ][:limit]
        self.used_weight += 2
        return web.json_response(rows, headers={"X-MBX-USED-WEIGHT-1M": str(self.used_weight)})

    async def _funding_info(self, _request: web.Request) -> web.Response:
        """Only the symbols whose funding interval was adjusted, as Binance lists them."""
        return web.json_response(
            [{"symbol": s, "fundingIntervalHours": h} for s, h in self.funding_hours.items()]
        )

    async def _leverage_bracket(self, request: web.Request) -> web.Response:
        """USER_DATA: the key in X-MBX-APIKEY and an HMAC-SHA256 signature over the query string
        before `&signature=` (Binance's -2014/-1022 answers otherwise)."""
        import hashlib
        import hmac

        key, secret = self.api_credentials or ("", "")
        if request.headers.get("X-MBX-APIKEY") != key or not key:
            return self._error(-2014, "API-key format invalid.", 401)
        query = request.query_string
        payload, _, signature = query.rpartition("&signature=")
        want = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, want):
            return self._error(-1022, "Signature for this request is not valid.", 400)
        return web.json_response([{"symbol": s, "brackets": b} for s, b in self.brackets.items()])

    async def _mark_klines(self, request: web.Request) -> web.Response:
        """USD-M's markPriceKlines: the kline row format (volumes zero), closed or forming."""
        q = request.query
        key = (q.get("symbol", ""), q.get("interval", ""))
        if key not in self.marks:
            return self._error(-1121, "Invalid symbol.")
        start, end = int(q.get("startTime", 0)), int(q.get("endTime", 2**62))
        limit = min(int(q.get("limit", 500)), 1500)
        rows = [
            rest_row(key[1], c)
            for c in self.marks[key]
            if start <= c.open_time <= end and c.open_time <= self.now_ms
        ][:limit]
        return web.json_response(rows)

    async def _funding_rate(self, request: web.Request) -> web.Response:
        """USD-M's settled funding history: rows whose funding time has passed, from `startTime`."""
        self.funding_requests += 1
        q = request.query
        symbol = q.get("symbol", "")
        start, end = int(q.get("startTime", 0)), int(q.get("endTime", 2**62))
        limit = min(int(q.get("limit", 100)), 1000)
        rows = [
            {"symbol": symbol, "fundingTime": t, "fundingRate": rate, "markPrice": "0"}
            for t, rate in self.funding.get(symbol, [])
            if start <= t <= end and t <= self.now_ms
        ][:limit]
        return web.json_response(rows)

    async def _exchange_info(self, request: web.Request) -> web.Response:
        """One symbol (`?symbol=`), or every symbol the server knows (no parameter; USD-M
        takes no symbol at all)."""
        symbol = request.query.get("symbol") if self.market == "spot" else None
        if symbol is not None and symbol not in self._symbols():
            return self._error(-1121, "Invalid symbol.")
        names = [symbol] if symbol is not None else sorted(self._symbols() | set(self.filters))
        return web.json_response(
            {
                "timezone": "UTC",
                "serverTime": self.now_ms,
                "rateLimits": [],
                "symbols": [self._info(n) for n in names],
            }
        )

    def _info(self, symbol: str) -> dict:
        tick, step, notional = self.filters.get(symbol, ("0.01000000", "0.00001000", "5.00000000"))
        if self.market == "usdm":
            return {
                "symbol": symbol,
                "status": "TRADING",
                "contractType": "PERPETUAL",
                "baseAsset": symbol[:-4],
                "quoteAsset": symbol[-4:],
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000", "tickSize": tick},
                    {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "1000", "stepSize": step},
                    {"filterType": "MIN_NOTIONAL", "notional": notional},
                ],
                "liquidationFee": "0.015000",
            }
        return {
            "symbol": symbol,
            "status": "TRADING",
            "baseAsset": symbol[:-4],
            "quoteAsset": symbol[-4:],
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": tick,
                    "maxPrice": "1000000.00000000",
                    "tickSize": tick,
                },
                {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000.00000000", "stepSize": step},
                {
                    "filterType": "NOTIONAL",
                    "minNotional": notional,
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ],
        }

    async def _time(self, _request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self.now_ms})

    async def _ping(self, _request: web.Request) -> web.Response:
        return web.json_response({})

    # stream -------------------------------------------------------------------------------
    def _streams(self, request: web.Request) -> list[tuple[str, str, str]]:
        out = []
        for name in request.query.get("streams", "").split("/"):
            sym, _, kind = name.partition("@kline_")
            out.append((name, sym.upper(), kind))
        return out

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=self.faults.heartbeat)
        await ws.prepare(request)
        self.connections += 1
        drop_after = self.faults.drop_after.pop(0) if self.faults.drop_after else None
        streams = [s for s in self._streams(request) if (s[1], s[2]) in self.series]
        reader = asyncio.create_task(self._drain(ws))
        try:
            await self._pump(ws, streams, drop_after)
            if not ws.closed:
                await reader  # idle until the client goes away; heartbeats keep running
        finally:
            reader.cancel()
        return ws

    async def _drain(self, ws: web.WebSocketResponse) -> None:
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                return

    async def _pump(
        self, ws: web.WebSocketResponse, streams: list[tuple[str, str, str]], drop_after: int | None
    ) -> None:
        f, finals, step = self.faults, 0, self._step()
        pending: list[str] = []
        while not ws.closed and not self.exhausted():
            forming = self.now_ms
            for name, sym, interval in streams:
                candle = self._candle_at((sym, interval), forming)
                if candle is None:
                    continue
                await ws.send_str(self._frame(name, sym, interval, candle, closed=False))
            await asyncio.sleep(self.pace)  # the candle forms for a while, then closes
            if ws.closed:
                return
            self.now_ms += step
            for name, sym, interval in streams:
                candle = self._candle_at((sym, interval), forming)
                if candle is None or candle.open_time in f.withhold:
                    continue
                finals += 1
                if f.malformed_every and finals % f.malformed_every == 0:
                    await ws.send_str('{"stream": "broken", "data": {"e": "kline", "k": ')
                frame = self._frame(name, sym, interval, candle, closed=True)
                if f.swap_every and finals % f.swap_every == 1:
                    pending.append(frame)  # hold it back; it goes out after the next one
                    continue
                await self._send_final(ws, frame, candle.open_time)
                while pending:
                    await ws.send_str(pending.pop())
                if f.duplicate_every and finals % f.duplicate_every == 0:
                    await ws.send_str(frame)
            if drop_after is not None and finals >= drop_after:
                for frame in pending:
                    await ws.send_str(frame)
                self.now_ms += f.advance_while_down * step
                await ws.close()
                return
            await asyncio.sleep(0)
        for frame in pending:
            await ws.send_str(frame)

    async def _send_final(self, ws: web.WebSocketResponse, frame: str, open_time: int) -> None:
        self.sent_at[open_time] = time.perf_counter()
        await ws.send_str(frame)

    def _candle_at(self, key: tuple[str, str], open_time: int) -> Candle | None:
        return self._index[key].get(open_time)

    def _frame(self, name: str, sym: str, interval: str, c: Candle, *, closed: bool) -> str:
        return json.dumps(
            {"stream": name, "data": kline_payload(sym, interval, c, closed=closed, event_time=self.now_ms)}
        )


def hourly_exchange(frames: dict[str, pd.DataFrame], with_minutes: bool = False) -> FakeBinance:
    """The exchange's hourly klines of each pair (its minutes aggregated as Binance does), and
    with `with_minutes` the minutes too; its clock just after the last minute closed."""
    series = {(s, "1h"): frame_to_candles(resample(f, "1m", "1h")) for s, f in frames.items()}
    if with_minutes:
        series |= {(s, "1m"): frame_to_candles(f) for s, f in frames.items()}
    fake = FakeBinance(series)
    fake.now_ms = int(max(f["open_time"].iloc[-1] for f in frames.values())) + 60_000
    return fake


@contextmanager
def served(fake: FakeBinance) -> Iterator[FakeBinance]:
    """`fake` served from a thread of its own, for a synchronous test (a real cluster's)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
