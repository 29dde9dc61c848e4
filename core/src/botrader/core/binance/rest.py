"""The one Binance REST client: klines pages, exchange info and a perpetual's funding
history, for spot's REST paths or USD-M's (`endpoints.Endpoints.api`), rate-limit aware.

Binance answers 429 when a client exceeds its request weight and 418 when it kept going
after 429s (an IP ban); both carry `Retry-After` in seconds, and every answer carries the
weight used in the current minute (`X-MBX-USED-WEIGHT-1M`). We wait out the former and
slow down before the latter reaches the limit, so a backfill never earns a ban.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from botrader.core.binance.endpoints import Endpoints
from botrader.core.binance.messages import candle_from_rest
from botrader.core.candles import Candle
from botrader.core.engine.funding import funding_time
from botrader.core.engine.margin import funding_rate_e8
from botrader.core.errors import SourceUnavailable, UserError
from botrader.core.intervals import interval_ms
from botrader.core.timeutil import now_ms

log = logging.getLogger(__name__)

KLINES_PAGE = 1000
WEIGHT_HEADER = "x-mbx-used-weight-1m"
_ERROR_MEANINGS = {-1121: "unknown symbol", -1120: "unknown interval", -1100: "bad parameter"}


class BinanceRestClient:
    """Async client; the backfill job and the collector's gap filler both use it."""

    def __init__(
        self,
        base_url: str,
        *,
        api: str = "/api/v3",
        weight_limit: int = 6000,
        weight_headroom: float = 0.9,
        max_retries: int = 5,
        timeout: float = 10.0,
        clock: Callable[[], int] = now_ms,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api = api  # spot's /api/v3, or a USD-M perpetual's /fapi/v1
        self.weight_limit = weight_limit
        self.weight_headroom = weight_headroom
        self.max_retries = max_retries
        self.clock = clock
        self._sleep = sleep
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self.used_weight = 0
        self.rate_limited = 0  # 429/418 answers seen, for metrics and tests

    @classmethod
    def at(cls, endpoints: Endpoints, **kwargs: Any) -> BinanceRestClient:
        """A client for a source's endpoints (its REST paths and weight budget)."""
        return cls(endpoints.rest_url, api=endpoints.api, weight_limit=endpoints.weight_limit, **kwargs)

    async def __aenter__(self) -> BinanceRestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def exchange_info(self, symbol: str) -> dict[str, Any]:
        """Symbol rules (filters, status); also how we learn that a symbol does not exist."""
        if self.api == "/api/v3":
            data = await self._get("/api/v3/exchangeInfo", {"symbol": symbol})
        else:  # USD-M's exchangeInfo takes no symbol: every contract, once
            data = await self._get(f"{self.api}/exchangeInfo", {})
        found = data.get("symbols") if isinstance(data, dict) else None
        symbols = [s for s in found or [] if isinstance(s, dict) and s.get("symbol") == symbol]
        if not symbols:
            raise UserError(f"unknown symbol {symbol!r} on {self.base_url}")
        return dict(symbols[0])

    async def exchange_info_all(self) -> dict[str, Any]:
        """Every symbol's rules (`botrader symbols refresh`)."""
        data = await self._get(f"{self.api}/exchangeInfo", {})
        if not isinstance(data, dict) or not isinstance(data.get("symbols"), list):
            raise UserError(f"unexpected exchangeInfo answer from {self.base_url}")
        return data

    async def klines(
        self,
        symbol: str,
        interval: str,
        start: int,
        end: int | None = None,
        limit: int = KLINES_PAGE,
        kind: str = "klines",
    ) -> list[Candle]:
        """Closed candles with open time in [start, end]; the still-forming one is dropped.
        `kind`: `klines`, or a perpetual's `markPriceKlines` (the same row format)."""
        params: dict[str, Any] = {"symbol": symbol, "interval": interval, "startTime": start, "limit": limit}
        if end is not None:
            params["endTime"] = end
        rows = await self._get(f"{self.api}/{kind}", params)
        if not isinstance(rows, list):
            raise SourceUnavailable(f"unexpected klines answer from {self.base_url}: {str(rows)[:120]}")
        now = self.clock()
        candles = []
        for row in rows:
            candle, close_time = candle_from_rest(row)
            if close_time < now:
                candles.append(candle)
        return candles

    async def iter_klines(
        self, symbol: str, interval: str, start: int, end: int, kind: str = "klines"
    ) -> AsyncIterator[list[Candle]]:
        """Pages of closed candles covering [start, end], oldest first."""
        step = interval_ms(interval)
        cursor = start
        while cursor <= end:
            page = await self.klines(symbol, interval, cursor, end, kind=kind)
            page = [c for c in page if cursor <= c.open_time <= end]
            if not page:
                return
            yield page
            cursor = page[-1].open_time + step

    async def funding_rates(self, symbol: str, start: int, end: int | None = None) -> list[tuple[int, int]]:
        """A USD-M perpetual's settled funding, (funding time, rate in 1e-8), oldest first,
        from `start` (`/fapi/v1/fundingRate`, at most 1000 a page)."""
        params: dict[str, Any] = {"symbol": symbol, "startTime": start, "limit": 1000}
        if end is not None:
            params["endTime"] = end
        rows = await self._get(f"{self.api}/fundingRate", params)
        if not isinstance(rows, list):
            raise SourceUnavailable(f"unexpected fundingRate answer from {self.base_url}: {str(rows)[:120]}")
        try:
            return [(funding_time(int(r["fundingTime"])), funding_rate_e8(r["fundingRate"])) for r in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(f"malformed fundingRate row from {self.base_url}: {exc!r}") from None

    async def funding_info(self) -> dict[str, int]:
        """USD-M symbols whose funding interval Binance adjusted: symbol → hours
        (`/fapi/v1/fundingInfo` lists only those; the rest keep 8)."""
        rows = await self._get(f"{self.api}/fundingInfo", {})
        if not isinstance(rows, list):
            raise SourceUnavailable(f"unexpected fundingInfo answer from {self.base_url}: {str(rows)[:120]}")
        return {
            str(r["symbol"]): int(r["fundingIntervalHours"])
            for r in rows
            if isinstance(r, dict) and "fundingIntervalHours" in r
        }

    async def signed_get(self, path: str, params: dict[str, Any], credentials: Any) -> Any:
        """A USER_DATA GET (e.g. USD-M's leverageBracket): `timestamp` and a signature over the
        query string, the key in `X-MBX-APIKEY` (`credentials`: venue.binance_spot.Credentials)."""
        query = urlencode({**params, "timestamp": self.clock(), "recvWindow": 5000})
        signed = f"{query}&signature={quote(credentials.sign(query), safe='')}"
        return await self._get(f"{path}?{signed}", {}, {"X-MBX-APIKEY": credentials.api_key})

    async def _get(self, path: str, params: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        for attempt in range(self.max_retries + 1):
            await self._respect_weight()
            try:
                resp = await self._http.get(path, params=params or None, headers=headers)
            except httpx.TransportError as exc:
                if attempt == self.max_retries:
                    raise SourceUnavailable(f"cannot reach Binance REST at {self.base_url}: {exc!r}") from exc
                await self._sleep(_backoff(attempt))
                continue
            self._note_weight(resp)
            if resp.status_code in (418, 429):
                self.rate_limited += 1
                wait = _retry_after(resp, _backoff(attempt))
                log.warning("binance answered %s; waiting %.1f s as Retry-After asks", resp.status_code, wait)
                await self._sleep(wait)
                continue
            if resp.status_code >= 500:
                await self._sleep(_backoff(attempt))
                continue
            if resp.status_code >= 400:
                raise _api_error(resp, params)
            return resp.json()
        raise SourceUnavailable(
            f"Binance REST at {self.base_url} kept refusing {path} after {self.max_retries} retries"
        )

    def _note_weight(self, resp: httpx.Response) -> None:
        header = resp.headers.get(WEIGHT_HEADER)
        if header and header.isdigit():
            self.used_weight = int(header)

    async def _respect_weight(self) -> None:
        """Near the minute's weight limit, wait for the next minute instead of earning a 429."""
        if self.used_weight < self.weight_limit * self.weight_headroom:
            return
        wait = (60_000 - self.clock() % 60_000) / 1000 + 0.05
        log.info("used weight %d of %d; pausing %.1f s", self.used_weight, self.weight_limit, wait)
        await self._sleep(wait)
        self.used_weight = 0


def _backoff(attempt: int) -> float:
    return min(30.0, 0.25 * 2**attempt) * (0.5 + random.random() / 2)


def _retry_after(resp: httpx.Response, default: float) -> float:
    try:
        return max(0.0, float(resp.headers.get("retry-after", default)))
    except ValueError:
        return default


def _api_error(resp: httpx.Response, params: dict[str, Any]) -> UserError:
    try:
        body = resp.json()
        code, msg = int(body.get("code")), str(body.get("msg"))
    except (ValueError, TypeError, AttributeError):
        return SourceUnavailable(f"Binance answered HTTP {resp.status_code}: {resp.text[:120]}")
    meaning = _ERROR_MEANINGS.get(code)
    if code == -1121:
        return UserError(f"unknown symbol {params.get('symbol')!r} (Binance: {msg})")
    if code == -1120:
        return UserError(f"unknown interval {params.get('interval')!r} (Binance: {msg})")
    return UserError(f"Binance rejected the request ({meaning or code}): {msg}")
