"""Market rules (tick size, step size, minimum notional) for a symbol when no exchange is
asked: file backtests, datasets, replays. Each symbol's integer money units come from its own
filters — an AVAXUSDT file priced on BTCUSDT's 0.01 tick would be rounded by 0.15% of AVAX's
price.

Where they come from, first found wins:
1. `$BOTRADER_EXCHANGE_FILTERS`, a file in Binance's exchangeInfo format;
2. `~/.cache/botrader/exchange_filters.json`, written by `botrader symbols refresh`;
3. the snapshot bundled with botrader-core (`exchange_filters.json`, common USDT pairs).
A live bot asks Binance itself (`/api/v3/exchangeInfo`) when it starts.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError

BUNDLED = Path(__file__).with_name("exchange_filters.json")
QUOTES = ("USDT",)


def cache_file() -> Path:
    return (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        / "botrader"
        / "exchange_filters.json"
    )


def source_file() -> Path:
    explicit = os.environ.get("BOTRADER_EXCHANGE_FILTERS")
    if explicit:
        if not Path(explicit).is_file():
            raise UserError(f"BOTRADER_EXCHANGE_FILTERS {explicit!r}: file not found")
        return Path(explicit)
    cached = cache_file()
    return cached if cached.is_file() else BUNDLED


@functools.cache
def _load(path: Path, mtime: float) -> dict[str, dict[str, Any]]:
    try:
        doc = json.loads(path.read_text())
        return {s["symbol"]: s for s in doc["symbols"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"cannot read exchange filters {str(path)!r}: {exc}") from None


def known() -> dict[str, dict[str, Any]]:
    path = source_file()
    return _load(path, path.stat().st_mtime)


def assets_of(symbol: str) -> tuple[str, str]:
    """The symbol's base and quote assets (BTCUSDT → BTC, USDT)."""
    entry = known().get(symbol.upper()) or {}
    quote = entry.get("quoteAsset") or next((q for q in QUOTES if symbol.upper().endswith(q)), "USDT")
    return entry.get("baseAsset") or symbol.upper().removesuffix(quote), quote


def rules_for(symbol: str) -> MarketRules:
    """The symbol's rules, or a UserError that says what is known and how to learn more."""
    entry = known().get(symbol.upper())
    if entry is None:
        names = sorted(known())
        raise UserError(
            f"unknown symbol {symbol!r}: no exchange filters for it in {source_file()} "
            f"({len(names)} symbols: {', '.join(names[:8])}, …); run `botrader symbols refresh` "
            "where Binance is reachable, or set BOTRADER_EXCHANGE_FILTERS to an exchangeInfo file"
        )
    return MarketRules.from_exchange_info(entry)


def write(exchange_info: dict[str, Any], path: Path) -> int:
    """Keep the trading spot pairs of the common quote assets from an exchangeInfo answer."""
    symbols = [
        {k: s[k] for k in ("symbol", "status", "baseAsset", "quoteAsset", "filters") if k in s}
        for s in exchange_info.get("symbols", [])
        if s.get("status") == "TRADING" and s.get("quoteAsset") in QUOTES
    ]
    if not symbols:
        raise UserError("the exchange answered with no trading USDT pairs; nothing written")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps({"_provenance": "botrader symbols refresh", "symbols": symbols}, indent=1))
    tmp.replace(path)
    return len(symbols)
