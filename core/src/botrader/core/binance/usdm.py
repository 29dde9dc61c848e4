"""USD-M perpetual rules for a symbol when no exchange is asked (backtests, datasets): its
futures filters (a perpetual's tick and step are not its spot pair's), maintenance brackets,
liquidation fee and funding interval, from `$BOTRADER_USDM_RULES`, else the cache
`botrader symbols refresh --source binance-usdm` writes, else the snapshot bundled with
botrader-core (`usdm_rules.json`) — all in Binance's own response shapes."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from botrader.core.engine.margin import PerpRules
from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError

BUNDLED = Path(__file__).with_name("usdm_rules.json")


def cache_file() -> Path:
    """Where `botrader symbols refresh --source binance-usdm` writes."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "botrader" / "usdm_rules.json"


def source_file() -> Path:
    """$BOTRADER_USDM_RULES, else the refreshed cache, else the bundled snapshot."""
    explicit = os.environ.get("BOTRADER_USDM_RULES")
    if explicit and not Path(explicit).is_file():
        raise UserError(f"BOTRADER_USDM_RULES {explicit!r}: file not found")
    if explicit:
        return Path(explicit)
    cached = cache_file()
    return cached if cached.is_file() else BUNDLED


def current_brackets() -> dict[str, list[dict[str, Any]]]:
    """Each symbol's brackets in the rules now in use (what a refresh without keys keeps)."""
    path = source_file()
    return _load(path, path.stat().st_mtime)[1]


@functools.cache
def _load(path: Path, mtime: float) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]], int]:
    try:
        doc = json.loads(path.read_text())
        symbols = {s["symbol"]: s for s in doc["symbols"]}
        brackets = {b["symbol"]: b["brackets"] for b in doc["brackets"]}
        default_hours = int(doc.get("fundingIntervalHours", {}).get("default", 8))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"cannot read USD-M rules {str(path)!r}: {exc}") from None
    return symbols, brackets, default_hours


def perp_rules_for(symbol: str) -> PerpRules:
    """The symbol's USD-M rules, or one line naming what is known."""
    path = source_file()
    symbols, brackets, default_hours = _load(path, path.stat().st_mtime)
    entry, tiers = symbols.get(symbol.upper()), brackets.get(symbol.upper())
    if entry is None or tiers is None:
        raise UserError(
            f"unknown USD-M symbol {symbol!r}: no futures rules for it in {path} "
            f"(known: {', '.join(sorted(set(symbols) & set(brackets)))}); set BOTRADER_USDM_RULES to a file "
            "with its /fapi/v1/exchangeInfo entry and /fapi/v1/leverageBracket brackets"
        )
    info = {"fundingIntervalHours": default_hours, **entry}
    return PerpRules.from_binance(MarketRules.from_exchange_info(entry), info, tiers)
