"""`botrader symbols refresh --source binance-usdm`: the USD-M rules file rebuilt from Binance
— every trading USDT perpetual's filters and liquidation fee (`/fapi/v1/exchangeInfo`), the
funding intervals Binance adjusted (`/fapi/v1/fundingInfo`), and the maintenance brackets
(`/fapi/v1/leverageBracket`, a signed USER_DATA endpoint: with API keys in the environment;
without them the brackets of the rules in use are kept, and symbols without any are left
out and counted). Written in Binance's own shapes, the file `usdm.perp_rules_for` reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botrader.core.binance.rest import BinanceRestClient
from botrader.core.binance.usdm import current_brackets
from botrader.core.errors import UserError


@dataclass(frozen=True)
class Refreshed:
    symbols: int
    brackets_from: str  # "leverageBracket" or "the rules in use"
    left_out: int  # trading perpetuals without brackets (no keys, none kept)


async def fetch_rules(rest: BinanceRestClient, credentials: Any | None) -> tuple[dict[str, Any], Refreshed]:
    info = await rest.exchange_info_all()
    perpetuals = [
        s
        for s in info["symbols"]
        if s.get("contractType") == "PERPETUAL"
        and s.get("quoteAsset") == "USDT"
        and s.get("status") == "TRADING"
    ]
    adjusted = await rest.funding_info()
    entries = [
        {**s, **({"fundingIntervalHours": adjusted[s["symbol"]]} if s["symbol"] in adjusted else {})}
        for s in perpetuals
    ]
    if credentials is not None:
        answer = await rest.signed_get(f"{rest.api}/leverageBracket", {}, credentials)
        brackets = {b["symbol"]: b["brackets"] for b in answer if isinstance(b, dict) and "brackets" in b}
        source = "leverageBracket"
    else:
        brackets, source = current_brackets(), "the rules in use"
    kept = [e for e in entries if e["symbol"] in brackets]
    doc = {
        "_provenance": (
            f"GET {rest.api}/exchangeInfo (serverTime {info.get('serverTime')}) and fundingInfo from "
            f"{rest.base_url}; brackets from {source}. Written by botrader symbols refresh."
        ),
        "fundingIntervalHours": {"default": 8},
        "symbols": kept,
        "brackets": [{"symbol": e["symbol"], "brackets": brackets[e["symbol"]]} for e in kept],
    }
    return doc, Refreshed(len(kept), source, len(entries) - len(kept))


def write_rules(doc: dict[str, Any], path: Path) -> None:
    if not doc["symbols"]:
        raise UserError("no USD-M symbol with brackets: nothing written (give API keys for leverageBracket)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)  # whole or not at all
