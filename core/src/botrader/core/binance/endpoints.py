"""Where each source's Binance endpoints live; environment variables override the defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass

from botrader.core.errors import UserError

LIVE_SOURCES = ("binance", "binance-testnet")
_DEFAULTS = {
    "binance": ("wss://stream.binance.com:9443", "https://api.binance.com"),
    "binance-testnet": ("wss://stream.testnet.binance.vision", "https://testnet.binance.vision"),
}


@dataclass(frozen=True, slots=True)
class Endpoints:
    ws_url: str
    rest_url: str


def endpoints_for(source: str) -> Endpoints:
    """BOTRADER_BINANCE_WS_URL / BOTRADER_BINANCE_REST_URL win over the source's defaults,
    which is how tests and proxies point the collector somewhere else."""
    if source not in _DEFAULTS:
        raise UserError(f"unknown source {source!r}: expected binance, binance-testnet or replay")
    ws, rest = _DEFAULTS[source]
    return Endpoints(
        ws_url=os.environ.get("BOTRADER_BINANCE_WS_URL", ws).rstrip("/"),
        rest_url=os.environ.get("BOTRADER_BINANCE_REST_URL", rest).rstrip("/"),
    )
