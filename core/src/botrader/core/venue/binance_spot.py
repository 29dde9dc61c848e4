"""Binance Spot's signed REST API (the Spot Testnet by default): orders, trades, balances.

Every signed request carries `timestamp` (our clock plus the measured offset to the venue's)
and `recvWindow`, and a signature over its query string: Ed25519 (what Binance recommends; the
signature base64) or HMAC-SHA256 (hex). Answers are turned into `Report`s and `VenueFill`s, and
errors into `errors.classify`'s kinds — this module decides nothing about retries of orders;
the executor does. A -1021 (clock) is retried once after resyncing the offset: the venue did not
process the request. Request weight and order counts are read from every answer's headers.

Endpoints come from BOTRADER_VENUE_REST_URL (default: the Spot Testnet's), so any
Binance-compatible server can stand in; mainnet is refused (`check_testnet`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from botrader.core.binance.rest import WEIGHT_HEADER
from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError
from botrader.core.timeutil import now_ms
from botrader.core.venue.errors import ClockSkew, OutcomeUnknown, classify
from botrader.core.venue.orders import VENUE_STATUS, Intent, Report, VenueFill

TESTNET_REST = "https://testnet.binance.vision"
TESTNET_WS_API = "wss://ws-api.testnet.binance.vision/ws-api/v3"
MAINNET_HOSTS = (
    "api.binance.com",
    "api1.binance.com",
    "api2.binance.com",
    "api3.binance.com",
    "api4.binance.com",
)


@dataclass(frozen=True)
class Credentials:
    """An API key and either an Ed25519 private key (PEM) or an HMAC secret. Never printed."""

    api_key: str
    private_key_pem: bytes | None = None
    secret: str | None = None

    def __repr__(self) -> str:
        kind = "ed25519" if self.private_key_pem else "hmac"
        return f"Credentials(api_key=…{self.api_key[-4:]}, {kind})"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Credentials:
        """From the files in BOTRADER_VENUE_CREDENTIALS_DIR (a mounted Secret, as the operator
        does it), else BINANCE_API_KEY with BINANCE_PRIVATE_KEY_FILE (Ed25519 PEM) or
        BINANCE_API_SECRET."""
        env = dict(os.environ) if env is None else env
        if env.get("BOTRADER_VENUE_CREDENTIALS_DIR"):
            return cls.from_directory(Path(env["BOTRADER_VENUE_CREDENTIALS_DIR"]))
        key = env.get("BINANCE_API_KEY")
        if not key:
            raise UserError(
                "venue binance-testnet needs BINANCE_API_KEY "
                "(and BINANCE_PRIVATE_KEY_FILE or BINANCE_API_SECRET)"
            )
        path = env.get("BINANCE_PRIVATE_KEY_FILE")
        if path:
            try:
                return cls(key, private_key_pem=Path(path).read_bytes())
            except OSError as exc:
                raise UserError(f"BINANCE_PRIVATE_KEY_FILE {path!r}: {exc.strerror}") from None
        secret = env.get("BINANCE_API_SECRET")
        if not secret:
            raise UserError(
                "BINANCE_API_KEY needs BINANCE_PRIVATE_KEY_FILE (Ed25519 PEM) or BINANCE_API_SECRET (HMAC)"
            )
        return cls(key, secret=secret)

    @classmethod
    def from_directory(cls, folder: Path) -> Credentials:
        """A Secret's keys as files: `apiKey`, and `privateKey` (Ed25519 PEM) or `secretKey`."""

        def read(name: str) -> bytes | None:
            try:
                return (folder / name).read_bytes()
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise UserError(f"venue credentials {folder / name}: {exc.strerror}") from None

        key, private, secret = read("apiKey"), read("privateKey"), read("secretKey")
        if not key or not key.strip():
            raise UserError(f"venue credentials in {folder}: no apiKey (the Secret needs the key apiKey)")
        if private:
            return cls(key.decode().strip(), private_key_pem=private)
        if secret and secret.strip():
            return cls(key.decode().strip(), secret=secret.decode().strip())
        raise UserError(
            f"venue credentials in {folder}: apiKey needs privateKey (Ed25519 PEM) or secretKey (HMAC)"
        )

    def sign(self, payload: str) -> str:
        if self.private_key_pem is not None:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            key = load_pem_private_key(self.private_key_pem, password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise UserError("BINANCE_PRIVATE_KEY_FILE is not an Ed25519 private key")
            return base64.b64encode(key.sign(payload.encode())).decode()
        assert self.secret is not None
        return hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check_testnet(url: str) -> None:
    """The safety rule the original system had: testnet only, for now."""
    host = httpx.URL(url).host
    if host in MAINNET_HOSTS:
        raise UserError(
            f"{url} is Binance mainnet: Botrader trades on the Spot Testnet only "
            "(real funds are not supported yet)"
        )


@dataclass
class Limits:
    """What the venue's headers said last: request weight in the current minute, orders in the
    last 10 s and today."""

    weight_1m: int = 0
    orders_10s: int = 0
    orders_1d: int = 0

    def read(self, headers: httpx.Headers) -> None:
        for name, attr in (
            (WEIGHT_HEADER, "weight_1m"),
            ("x-mbx-order-count-10s", "orders_10s"),
            ("x-mbx-order-count-1d", "orders_1d"),
        ):
            if name in headers:
                setattr(self, attr, int(headers[name]))


class SpotClient:
    """Synchronous: the trader's venue calls run in its own thread, one at a time per bot."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        market: MarketRules,
        *,
        recv_window: int = 5000,
        timeout: float = 10.0,
        clock: Callable[[], int] = now_ms,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        check_testnet(base_url)
        self.credentials, self.market, self.recv_window, self.clock = credentials, market, recv_window, clock
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)
        self.offset_ms = 0
        self.limits = Limits()
        self.requests = 0  # sent, for the reconciliation benchmark

    def close(self) -> None:
        self.http.close()

    # -- transport -----------------------------------------------------------------------
    def sync_time(self) -> int:
        began = self.clock()
        server = int(self._call("GET", "/api/v3/time", {})["serverTime"])
        self.offset_ms = server - (began + self.clock()) // 2
        return self.offset_ms

    def _call(self, method: str, path: str, params: dict[str, Any], *, signed: bool = False) -> Any:
        query = urlencode([(k, v) for k, v in params.items() if v is not None])
        headers = {}
        if signed:
            stamp = urlencode({"timestamp": self.clock() + self.offset_ms, "recvWindow": self.recv_window})
            query = f"{query}&{stamp}" if query else stamp
            query += "&" + urlencode({"signature": self.credentials.sign(query)})
            headers["X-MBX-APIKEY"] = self.credentials.api_key
        self.requests += 1
        try:
            answer = self.http.request(method, f"{path}?{query}" if query else path, headers=headers)
        except httpx.TimeoutException as exc:
            raise OutcomeUnknown(0, 0, f"no answer ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise OutcomeUnknown(0, 0, f"connection failed ({exc})") from None
        self.limits.read(answer.headers)
        if answer.status_code == 200:
            return answer.json()
        try:
            body = answer.json()
            code, message = int(body.get("code", 0)), str(body.get("msg", ""))
        except (ValueError, AttributeError):
            code, message = 0, answer.text[:200]
        retry = float(answer.headers.get("retry-after", 1))
        raise classify(answer.status_code, code, message, retry_after=retry, now_ms=self.clock())

    def _signed(self, method: str, path: str, params: dict[str, Any]) -> Any:
        try:
            return self._call(method, path, params, signed=True)
        except ClockSkew:
            self.sync_time()  # the venue refused it unprocessed: once more on its clock
            return self._call(method, path, params, signed=True)

    # -- orders --------------------------------------------------------------------------
    def place(self, intent: Intent) -> tuple[Report, list[VenueFill]]:
        params: dict[str, Any] = {
            "symbol": intent.symbol,
            "side": intent.side,
            "type": "MARKET" if intent.limit is None else "LIMIT",
            "quantity": self._qty(intent.lots),
            "newClientOrderId": intent.client_id,
            "newOrderRespType": "FULL",
        }
        if intent.limit is not None:
            params.update(price=format(self.market.price(intent.limit), "f"), timeInForce="GTC")
        answer = self._signed("POST", "/api/v3/order", params)
        fills = [self._fill(answer, f) for f in answer.get("fills", [])]
        return self.report(answer), fills

    def query(self, client_id: str) -> Report:
        return self.report(
            self._signed(
                "GET", "/api/v3/order", {"symbol": self.market.symbol, "origClientOrderId": client_id}
            )
        )

    def cancel(self, client_id: str) -> Report:
        return self.report(
            self._signed(
                "DELETE", "/api/v3/order", {"symbol": self.market.symbol, "origClientOrderId": client_id}
            )
        )

    def open_orders(self) -> list[dict[str, Any]]:
        return list(self._signed("GET", "/api/v3/openOrders", {"symbol": self.market.symbol}))

    def my_trades(self, from_id: int, limit: int = 1000) -> list[VenueFill]:
        """The account's trades on the symbol with id ≥ `from_id`, oldest first (no 24 h window:
        a cursor, not a time range)."""
        rows = self._signed(
            "GET", "/api/v3/myTrades", {"symbol": self.market.symbol, "fromId": from_id, "limit": limit}
        )
        return [
            VenueFill(
                trade_id=int(r["id"]),
                client_id="",  # myTrades names the order by id only; the executor maps it
                venue_id=int(r["orderId"]),
                symbol=r["symbol"],
                side="BUY" if r["isBuyer"] else "SELL",
                price=r["price"],
                quantity=r["qty"],
                quote_quantity=r["quoteQty"],
                commission=r["commission"],
                commission_asset=r["commissionAsset"],
                time_ms=int(r["time"]),
            )
            for r in rows
        ]

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Asset → (free, locked)."""
        found = self._signed("GET", "/api/v3/account", {"omitZeroBalances": "true"})
        return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in found["balances"]}

    # -- conversions ---------------------------------------------------------------------
    def _qty(self, lots: int) -> str:
        return format(self.market.to_base(lots), "f")

    def lots(self, quantity: str) -> int:
        return int(Decimal(quantity) / self.market.step_size)

    def report(self, answer: dict[str, Any]) -> Report:
        return Report(
            state=VENUE_STATUS[answer["status"]],
            filled_lots=self.lots(answer.get("executedQty", "0")),
            venue_id=int(answer["orderId"]),
        )

    def _fill(self, order: dict[str, Any], fill: dict[str, Any]) -> VenueFill:
        qty, price = Decimal(fill["qty"]), Decimal(fill["price"])
        return VenueFill(
            trade_id=int(fill["tradeId"]),
            client_id=order["clientOrderId"],
            venue_id=int(order["orderId"]),
            symbol=order["symbol"],
            side=order["side"],
            price=fill["price"],
            quantity=fill["qty"],
            quote_quantity=format(qty * price, "f"),
            commission=fill["commission"],
            commission_asset=fill["commissionAsset"],
            time_ms=int(order.get("transactTime", 0)),
        )
