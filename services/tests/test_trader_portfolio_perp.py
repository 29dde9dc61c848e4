"""A perpetual portfolio on paper: long and short over several USD-M pairs and one wallet,
paper-traded on the database and compared with an uninterrupted backtest of the same candles,
to the unit — fills, orders, equity marks and every pair's funding payments. On a binance-usdm
source each pair reads its own collected mark klines and funding rates, and a minute waits
until every pair's are stored."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from botrader.core.bot_engine import sleeve_config, strategy_for
from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles, read_candles_frame
from botrader.core.db.candles import CandleStore
from botrader.core.db.funding_rates import FundingRateStore
from botrader.core.db.mark_prices import MarkPriceStore
from botrader.core.db.trading import TradingStore
from botrader.core.manifests import parse_trading_bot
from botrader.services.trader.portfolio import PortfolioTrader
from tests.support.paths import BINANCE_MONTH
from tests.support.portfolio_paper import assert_equals_backtest, stored

HOUR = 3_600_000


def perp_bot(symbols: list[str], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": "perp-book"},
        "spec": {
            "symbols": symbols,
            "market": "usdm-perp",
            "leverage": 3,
            # a four-hour RSI: positions held over funding times
            "strategy": {
                "type": "rsi_long_short",
                "params": {"period": 240, "oversold": 45, "overbought": 55},
            },
            "execution": {"feeRate": 0.0005},
            "portfolio": {"maxOpenPositions": 3, "maxDrawdownFraction": 0.9},
            "risk": {"dailyLossLimitFraction": 1, "maxConsecutiveLosses": 1000},
            **spec,
        },
    }


def frames(symbols: list[str], n: int, skip: int = 0) -> dict[str, pd.DataFrame]:
    """`n` minutes of each pair's February, from minute `skip`."""
    return {
        s: read_candles_frame(BINANCE_MONTH[s]).iloc[skip : skip + n].reset_index(drop=True) for s in symbols
    }


def test_a_perpetual_portfolio_equals_its_backtest_across_a_restart(pg_url: str) -> None:
    """Four pairs at 3x and 0.01% funding, restarted midway; the API's positions and round
    trips read each pair through its perpetual ledger (shorts, margin, funding)."""
    from fastapi.testclient import TestClient

    from botrader.services.api.main import create_app

    symbols = ["ALGOUSDT", "AVAXUSDT", "FILUSDT", "NEARUSDT"]
    data = frames(symbols, 3000, skip=12_000)  # 50 hours from Feb 9: six funding times, shorts held
    db = stored(pg_url, data, source="replay")
    bot = parse_trading_bot(
        perp_bot(symbols, source="replay", replay={"path": "unused"}, funding={"rate": "0.0001"})
    )
    first = PortfolioTrader(bot, CandleStore(db), TradingStore(db), batch=1400)
    first.start()
    assert first.step() == 1400
    second = PortfolioTrader(bot, CandleStore(db), TradingStore(db), batch=1400)
    second.start()
    assert second.cursor == first.cursor
    while second.step():
        pass
    expected = assert_equals_backtest(db, bot, data)
    paid = TradingStore(db).funding(bot.name)
    times = [r["time"] for r in paid]
    assert len({r["symbol"] for r in paid}) >= 3 and any(
        times.count(t) >= 2 for t in times
    )  # one time, two pairs

    from prometheus_client import REGISTRY

    paid_quote = sum(float(s.engine.market.to_quote(s.engine.portfolio.funding)) for s in second.book.sleeves)
    assert REGISTRY.get_sample_value("botrader_bot_funding", {"bot": "perp-book"}) == pytest.approx(
        paid_quote
    )
    assert paid_quote != 0
    detail = TestClient(create_app(db)).get("/bots/perp-book").json()
    pairs = detail["positions"]
    assert [p["symbol"] for p in pairs] == symbols
    book = expected.engine
    assert sum(p["contribution"] for p in pairs) == pytest.approx(
        float(book.to_quote(book.equity_now() - book.budget))
    )
    for p, sleeve in zip(pairs, book.sleeves, strict=True):
        lots = sleeve.engine.portfolio.lots
        assert (
            p["side"] == ("long" if lots > 0 else "short" if lots < 0 else "flat") == p["perpetual"]["side"]
        )
        assert p["perpetual"]["leverage"] == 3
        assert p["perpetual"]["funding"] == pytest.approx(
            float(sleeve.engine.market.to_quote(sleeve.engine.portfolio.funding))
        )
    trips = TestClient(create_app(db)).get("/bots/perp-book/round-trips").json()
    assert {t["side"] for t in trips} == {"long", "short"}
    assert sum(t["pnl"] for t in trips) == pytest.approx(
        sum(
            float(s.engine.market.to_quote(pnl))
            for s in book.sleeves
            for pnl in s.engine.portfolio.round_trips
        )
    )


def test_a_live_perpetual_portfolio_reads_each_pair_s_collected_data_and_waits(pg_url: str) -> None:
    """Source binance-usdm without spec.funding: each pair pays its own collected rates and
    reads its own mark klines. A pair's late mark kline, or its unsettled rate, holds every
    pair at that minute; once stored, the portfolio goes on — and equals a backtest of the
    database (`botrader backtest --bot` reads each pair's collected data the same way). The bot
    starts on the backfill (its warm-up) and trades the candles collected after it."""
    from botrader.core.cli import portfolio_backtest as pb
    from botrader.core.cli.backtest import collected

    symbols = ["AVAXUSDT", "NEARUSDT"]
    rsi = {"type": "rsi_long_short", "params": {"period": 30, "oversold": 40, "overbought": 60}}
    bot = parse_trading_bot(perp_bot(symbols, source="binance-usdm", strategy=rsi))
    warm = strategy_for(bot).warmup_length()  # the backfill: 613 minutes
    data = frames(symbols, warm + 1500, skip=24_000)  # then 25 hours, from Feb 17
    backfill = {s: f.iloc[:warm] for s, f in data.items()}
    db = stored(pg_url, backfill, source="binance-usdm")  # exact money: every mark to the unit
    first, last = int(data["AVAXUSDT"]["open_time"].iloc[0]), int(data["AVAXUSDT"]["open_time"].iloc[-1])
    times = list(range(-(-first // (8 * HOUR)) * 8 * HOUR, last + 1, 8 * HOUR))
    assert len(times) == 5 and times[0] < int(data["AVAXUSDT"]["open_time"].iloc[warm])
    rates = {
        "AVAXUSDT": [30_000, -20_000, 50_000, 10_000, -15_000],
        "NEARUSDT": [-10_000, 40_000, 20_000, -5_000, 0],
    }
    funding, marks = FundingRateStore(db), MarkPriceStore(db)
    funding.upsert("binance-usdm", "NEARUSDT", list(zip(times, rates["NEARUSDT"], strict=True)))
    funding.upsert("binance-usdm", "AVAXUSDT", list(zip(times[:-1], rates["AVAXUSDT"][:-1], strict=True)))
    late = warm + 300  # NEAR's mark kline of this minute arrives late
    mark_klines = {
        s: frame_to_candles(f.assign(high=(f.high + f.close) / 2, low=(f.low + f.close) / 2))
        for s, f in data.items()
    }
    marks.upsert("binance-usdm", "AVAXUSDT", "1m", mark_klines["AVAXUSDT"])
    near = mark_klines["NEARUSDT"]
    marks.upsert("binance-usdm", "NEARUSDT", "1m", near[:late] + near[late + 1 :])

    present = int(data["AVAXUSDT"]["open_time"].iloc[warm])  # the backfill's last minute has just closed
    trader = PortfolioTrader(bot, CandleStore(db), TradingStore(db), batch=600, clock=lambda: present)
    trader.start()
    assert trader.cursor == int(data["AVAXUSDT"]["open_time"].iloc[warm - 1])  # warmed, not traded
    for symbol, frame in data.items():  # what the collectors store from now on
        CandleStore(db).upsert(make_key("binance-usdm", symbol, "1m"), frame_to_candles(frame.iloc[warm:]))
    while trader.step():
        pass
    assert trader.cursor == near[late].open_time - 60_000  # every pair held before it
    marks.upsert("binance-usdm", "NEARUSDT", "1m", near[late : late + 1])
    while trader.step():
        pass
    assert trader.cursor == times[-1] - 60_000  # held before AVAX's unsettled funding time
    funding.upsert("binance-usdm", "AVAXUSDT", [(times[-1], rates["AVAXUSDT"][-1])])
    while trader.step():
        pass
    assert trader.cursor == last

    def stored_for(symbol: str) -> Any:
        return collected(pg_url, "binance-usdm", symbol, "1m", data[symbol])

    config_for = pb.per_pair(lambda s: sleeve_config(bot.spec, s), data, stored_for)
    expected = assert_equals_backtest(db, bot, data, config_for, least=5, warmup=warm)
    paid = {
        (r["symbol"], r["time"].timestamp() * 1000, float(r["rate"]))
        for r in TradingStore(db).funding(bot.name)
    }
    owed = {(s, t, r / 1e8) for s in symbols for t, r in zip(times, rates[s], strict=True)}
    held = {s.symbol for s in expected.engine.sleeves if s.engine.funding_events}
    assert held and paid <= owed and {p[0] for p in paid} == held  # each pair its own rates
