"""A long/short bot on a USD-M perpetual, paper-traded on PostgreSQL and killed midway: its
stored fills (liquidations included), funding ledger and final equity equal one
uninterrupted backtest's of the same candles, to the unit."""

import dataclasses
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml

from botrader.core.backtesting.runner import run_backtest
from botrader.core.bot_engine import engine_config, strategy_for
from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles, read_candles_frame
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.manifests import parse_trading_bot
from botrader.core.timeutil import datetime_to_ms
from botrader.services.api.performance import bot_performance, replay
from botrader.services.api.views import detail
from tests.support.paths import REPO
from tests.support.trader_process import kill_midway_then_resume

AVAX = REPO / "examples" / "data" / "AVAXUSDT-1m-2025-02.csv.gz"


def perp_bot(path: Path) -> dict:
    return {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": "avax-perp"},
        "spec": {
            "symbol": "AVAXUSDT",
            "source": "replay",
            "replay": {"path": str(path), "speed": 0},
            "market": "usdm-perp",
            "leverage": 50,  # liquidated several times in two days of real AVAX
            "funding": {"rate": "0.0001"},
            "strategy": {"type": "rsi_long_short"},
            "execution": {"feeRate": 0.0005},
            "risk": {"maxDrawdownFraction": 0.9, "maxConsecutiveLosses": 1000, "dailyLossLimitFraction": 1},
        },
    }


@pytest.mark.slow
async def test_a_long_short_perpetual_bot_equals_its_backtest_across_a_kill(
    pg_url: str, tmp_path: Path
) -> None:
    frame: pd.DataFrame = read_candles_frame(AVAX).iloc[:3000].reset_index(drop=True)
    path = tmp_path / "avax.parquet"
    frame.to_parquet(path)
    db = connect(pg_url)
    upgrade(db)
    CandleStore(db).upsert(make_key("replay", "AVAXUSDT", "1m"), frame_to_candles(frame))
    doc = perp_bot(path)
    manifest = tmp_path / "bot.yaml"
    manifest.write_text(yaml.safe_dump(doc))
    await kill_midway_then_resume(manifest, pg_url, "avax-perp", int(frame["open_time"].iloc[-1]))

    bot = parse_trading_bot(doc)
    config = engine_config(bot.spec)
    result = run_backtest(frame, strategy_for(bot), config)
    m = config.market
    expected = [
        (f.seq, f.time, f.side, m.to_base(f.lots), m.price(f.price), m.to_quote(f.fee), f.reason)
        for f in result.fills
    ]
    trading = TradingStore(db)
    stored = [
        (r["seq"], datetime_to_ms(r["time"]), r["side"], Decimal(r["quantity"]), Decimal(r["price"]),
         Decimal(r["fee"]), r["reason"])
        for r in trading.fills("avax-perp")
    ]  # fmt: skip
    assert stored == expected
    reasons = {e[-1] for e in expected}
    assert {"signal", "liquidation"} <= reasons
    # the funding ledger: every payment once, as the backtest made them
    paid = [(datetime_to_ms(r["time"]), Decimal(r["amount"])) for r in trading.funding("avax-perp")]
    assert paid == [(t, m.to_quote(cash)) for t, _, cash in result.engine.funding_events]
    assert paid  # a position was open across a funding time
    final = trading.bot("avax-perp")
    engine = result.engine
    assert Decimal(final["equity"]) == m.to_quote(engine.portfolio.equity(engine.last_close_ticks))
    assert Decimal(final["position"]) == m.to_base(engine.portfolio.lots)
    # the API's performance replays the stored fills and funding through the bot's own ledger
    done = replay(trading, final)
    assert [round(t["pnl"] / float(m.cash_unit)) for t in done.trips] == engine.portfolio.round_trips
    assert {t["side"] for t in done.trips} == {"long", "short"}
    assert done.portfolio.state() == engine.portfolio.state()
    assert bot_performance(trading, final).trades == len(expected)
    # the dashboard's figures: the position, its margin and the funding ledger's total
    shown = detail(trading, "avax-perp")["perpetual"]
    assert shown["leverage"] == 50 and shown["side"] == engine.account.side
    assert Decimal(str(shown["funding"])) == m.to_quote(engine.portfolio.funding)
    assert sum(amount for _, amount in paid) == m.to_quote(engine.portfolio.funding)


async def test_a_live_perpetual_bot_reads_the_collected_data_and_waits_for_what_is_missing(
    db_url: str,
) -> None:
    """Source binance-usdm, no spec.funding: the bot reads the mark klines and pays the rates
    its collector stored. A candle whose mark kline is not stored, or a funding time whose rate
    is not, holds the candles from it on (never a silent fallback); once stored, the bot goes
    on — and the whole run equals a backtest with those marks and rates."""
    from botrader.core.db.funding_rates import FundingRateStore
    from botrader.core.db.mark_prices import MarkPriceStore
    from botrader.core.engine.funding import FundingSchedule
    from botrader.core.engine.marks import MarkPrices
    from botrader.core.market_kind import filters_for
    from botrader.services.trader.trader import PaperTrader

    frame = read_candles_frame(AVAX).iloc[:1500].reset_index(drop=True)  # 25 h: three funding times
    doc = perp_bot(Path("unused"))
    doc["spec"].update(source="binance-usdm", leverage=10)
    del doc["spec"]["replay"], doc["spec"]["funding"]
    bot = parse_trading_bot(doc)
    db = connect(db_url)
    upgrade(db)
    candles, key = CandleStore(db), make_key("binance-usdm", "AVAXUSDT", "1m")
    warm = strategy_for(bot).warmup_length()
    candles.upsert(key, frame_to_candles(frame.iloc[:warm]))
    market = filters_for("AVAXUSDT", "usdm-perp")
    warmed = int(frame["open_time"].iloc[warm])  # the present: the warm-up's last candle has just closed
    trader = PaperTrader(bot, candles, TradingStore(db), market, clock=lambda: warmed)
    trader.start()
    candles.upsert(key, frame_to_candles(frame.iloc[warm:]))
    hour = 3_600_000
    first, last = int(frame["open_time"].iloc[0]), int(frame["open_time"].iloc[-1])
    times = list(range(-(-first // (8 * hour)) * 8 * hour, last + 1, 8 * hour))
    rates = [(t, r) for t, r in zip(times, (30_000, -20_000, 50_000, 10_000), strict=False)]
    stored = FundingRateStore(db)
    stored.upsert("binance-usdm", "AVAXUSDT", rates[:-1])  # the last one has not settled yet
    # the mark tracks an index: its wicks are half the last price's
    marks = frame_to_candles(
        frame.assign(high=(frame.high + frame.close) / 2, low=(frame.low + frame.close) / 2)
    )
    late = 700  # this minute's mark kline arrives late
    mark_store = MarkPriceStore(db)
    mark_store.upsert("binance-usdm", "AVAXUSDT", "1m", marks[:late] + marks[late + 1 :])
    while trader.step():
        pass
    assert trader.cursor == marks[late].open_time - 60_000  # held before the candle it cannot mark
    mark_store.upsert("binance-usdm", "AVAXUSDT", "1m", marks[late : late + 1])
    while trader.step():
        pass
    assert trader.cursor == rates[-1][0] - 60_000  # held before the funding time it cannot price
    stored.upsert("binance-usdm", "AVAXUSDT", rates[-1:])
    while trader.step():
        pass
    assert trader.cursor == last

    schedule = FundingSchedule(tuple(t for t, _ in rates), tuple(r for _, r in rates))
    mark_prices = MarkPrices(
        tuple(c.open_time for c in marks),
        tuple(c.open for c in marks),
        tuple(c.high for c in marks),
        tuple(c.low for c in marks),
    )
    config = engine_config(bot.spec, market)
    instrument = dataclasses.replace(config.instrument, funding=schedule, marks=mark_prices)
    config = dataclasses.replace(config, instrument=instrument)
    result = run_backtest(frame, strategy_for(bot), config, warmup=warm)
    m = config.market
    assert [(f.time, f.side, f.lots, f.price, f.reason) for f in result.fills] == [
        (datetime_to_ms(r["time"]), r["side"], round(Decimal(str(r["quantity"])) / m.step_size),
         m.ticks(float(r["price"])), r["reason"])
        for r in TradingStore(db).fills("avax-perp")
    ]  # fmt: skip
    paid = [datetime_to_ms(r["time"]) for r in TradingStore(db).funding("avax-perp")]
    assert paid == [t for t, _, _ in result.engine.funding_events] and paid
    assert trader.engine.portfolio.state() == result.engine.portfolio.state()


async def test_a_live_perpetual_bot_takes_the_perpetual_s_filters(
    candles_slice, fake_binance_factory, monkeypatch
) -> None:
    """A binance-usdm bot's money units come from USD-M's exchangeInfo (no symbol filter there:
    the contract is picked out of every one), not from the spot pair's."""
    from botrader.services.trader.service import market_rules
    from tests.support.collector_harness import point_at

    server = await fake_binance_factory(
        {("AVAXUSDT", "1m"): candles_slice(0, 5)}, market="usdm", filters={"AVAXUSDT": ("0.0010", "1", "5")}
    )
    point_at(monkeypatch, server)
    doc = perp_bot(Path("unused"))
    doc["spec"]["source"] = "binance-usdm"
    del doc["spec"]["replay"]
    rules = (await market_rules(parse_trading_bot(doc)))["AVAXUSDT"]
    assert (rules.tick_size, rules.step_size, rules.min_notional) == (
        Decimal("0.001"),
        Decimal(1),
        Decimal(5),
    )
