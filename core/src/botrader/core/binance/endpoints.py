"""Where each source's Binance endpoints live; environment variables override the defaults.

A source is a market as well as a place: spot's REST paths are `/api/v3/…`, a USD-M
perpetual's `/fapi/v1/…` (with its own weight budget), and since Binance split the USD-M
WebSocket hosts by traffic kind, klines and mark prices stream from `…/market`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from botrader.core.errors import UserError

LIVE_SOURCES = ("binance", "binance-testnet", "binance-usdm", "binance-usdm-testnet")
USDM_SOURCES = ("binance-usdm", "binance-usdm-testnet")  # a USD-M perpetual's candles


@dataclass(frozen=True, slots=True)
class Endpoints:
    ws_url: str
    rest_url: str
    api: str = "/api/v3"  # the REST paths' prefix: spot's, or USD-M's /fapi/v1
    weight_limit: int = 6000  # request weight per minute (USD-M: 2400)

    @property
    def usdm(self) -> bool:
        return self.api.startswith("/fapi")


_USDM = {"api": "/fapi/v1", "weight_limit": 2400}
_DEFAULTS = {
    "binance": Endpoints("wss://stream.binance.com:9443", "https://api.binance.com"),
    "binance-testnet": Endpoints("wss://stream.testnet.binance.vision", "https://testnet.binance.vision"),
    "binance-usdm": Endpoints("wss://fstream.binance.com/market", "https://fapi.binance.com", **_USDM),  # type: ignore[arg-type]
    "binance-usdm-testnet": Endpoints(
        "wss://fstream.binancefuture.com",
        "https://testnet.binancefuture.com",
        **_USDM,  # type: ignore[arg-type]
    ),
}


def endpoints_for(source: str) -> Endpoints:
    """BOTRADER_BINANCE_WS_URL / BOTRADER_BINANCE_REST_URL win over the source's defaults,
    which is how tests and proxies point the collector somewhere else."""
    if source not in _DEFAULTS:
        raise UserError(f"unknown source {source!r}: expected {', '.join(LIVE_SOURCES)} or replay")
    default = _DEFAULTS[source]
    return dataclasses.replace(
        default,
        ws_url=os.environ.get("BOTRADER_BINANCE_WS_URL", default.ws_url).rstrip("/"),
        rest_url=os.environ.get("BOTRADER_BINANCE_REST_URL", default.rest_url).rstrip("/"),
    )
