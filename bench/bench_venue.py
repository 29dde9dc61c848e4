"""Orders on a venue, against the local Spot Testnet stand-in on loopback (PostgreSQL 15 or
SQLite): (1) decision → intent committed → order acknowledged → fills stored, p50/p99 over
`--orders` market orders; (2) reconciliation after a restart with `--stored` fills already in
the database and `--missed` fills the venue made while the trader was down: seconds, requests
and the request weight the venue counted; (3) with `--divergence N`, an RSI bot on the first N
candles of the real month (0: all 43,200), each candle moving the stand-in's book (2 bps
spread, 0.05 BTC a level) before the bot decides: the divergence report, paper against venue.
Prints figures; not a pass/fail test.

    python bench/bench_venue.py [--db postgresql://…] [--orders 500] [--stored 10000] [--missed 1000] [--divergence 0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from botrader.core.db import connect, upgrade
from botrader.core.db.venue import VenueStore
from botrader.core.engine.units import MarketRules
from botrader.core.venue.binance_spot import Credentials, SpotClient
from botrader.core.venue.executor import Executor
from botrader.core.venue.orders import Intent, bot_prefix, client_order_id
from tests.support.binance_spot import SpotStandIn

MARKET = MarketRules()
BOT = "bench-venue"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=None)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--stored", type=int, default=10_000)
    parser.add_argument("--missed", type=int, default=1_000)
    parser.add_argument("--divergence", type=int, default=None, help="candles of the real month (0: all)")
    args = parser.parse_args()
    if args.divergence is not None:
        month_divergence(args.divergence)
        return
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/venue.db"
    engine = connect(url)
    upgrade(engine)
    prefix = bot_prefix("default", BOT)
    stand_in = SpotStandIn(market=MARKET, balances={"BTC": Decimal(1000), "USDT": Decimal(10**9)})
    stand_in.add_hmac_key("k", "s")
    with stand_in:
        stand_in.set_price(100_000)
        client = SpotClient(stand_in.url, Credentials("k", secret="s"), MARKET)
        run = Executor(VenueStore(engine), client, BOT, prefix)
        waits = []
        for i in range(args.orders):
            began = time.perf_counter()
            run.submit(
                Intent(client_order_id(prefix, i), BOT, "BTCUSDT", "BUY" if i % 2 == 0 else "SELL", 100, i, 0)
            )
            waits.append((time.perf_counter() - began) * 1000)
        q = statistics.quantiles(waits, n=100)
        print(
            f"decision → committed → acknowledged → fills stored ({args.orders} market orders, {engine.dialect.name}): "
            f"p50 {q[49]:.2f} ms, p99 {q[98]:.2f} ms"
        )

        # a history of stored fills, then fills made while the trader was down
        stand_in.depth, stand_in.levels = Decimal("0.00001"), args.stored + args.missed + 10
        big = Intent(client_order_id(prefix, 10**6), BOT, "BTCUSDT", "BUY", args.stored, 10**6, 0)
        run.submit(big)
        run.reconcile()
        stand_in.fail_next("lost_answer")  # the last order's answer is lost: the restart must find it
        run.submit(
            Intent(client_order_id(prefix, 10**6 + 1), BOT, "BTCUSDT", "SELL", args.missed, 10**6 + 1, 0)
        )
        stored = VenueStore(engine).count_fills(BOT)
        restarted = Executor(
            VenueStore(engine), SpotClient(stand_in.url, Credentials("k", secret="s"), MARKET), BOT, prefix
        )
        weight_before = stand_in.weight
        began = time.perf_counter()
        found = restarted.reconcile()
        took = time.perf_counter() - began
        print(
            f"reconcile after a restart: {stored:,} fills stored, {found.fills:,} missed found in {took:.2f} s, "
            f"{found.requests} requests, weight {stand_in.weight - weight_before} (limit 6,000 per minute)"
        )
    engine.dispose()


def month_divergence(candles: int) -> None:
    from botrader.core.candles import make_key
    from botrader.core.data.files import frame_to_candles, read_candles_frame
    from botrader.core.db.candles import CandleStore
    from botrader.core.db.trading import TradingStore
    from botrader.core.manifests import parse_trading_bot
    from botrader.services.trader.venue import VenueTrader
    from tests.support.paths import REAL_MONTH

    frame = read_candles_frame(REAL_MONTH)
    frame = frame.iloc[: candles or len(frame)].reset_index(drop=True)
    engine = connect(f"sqlite:///{tempfile.mkdtemp()}/month.db")
    upgrade(engine)
    CandleStore(engine).upsert(make_key("replay", "BTCUSDT", "1m"), frame_to_candles(frame))
    spec = {"symbol": "BTCUSDT", "source": "replay", "replay": {"path": "x"}, "budget": 10_000,
            "venue": {"type": "binance-testnet", "credentials": {"secret": "s"}},
            "risk": {"maxConsecutiveLosses": 10**6, "dailyLossLimitFraction": 1, "maxDrawdownFraction": 1}}  # fmt: skip
    bot = parse_trading_bot(
        {
            "apiVersion": "botrader.io/v1alpha1",
            "kind": "TradingBot",
            "metadata": {"name": "month"},
            "spec": spec,
        }
    )
    stand_in = SpotStandIn(market=MARKET, balances={"BTC": Decimal(0), "USDT": Decimal(10_000)})
    stand_in.add_hmac_key("k", "s")
    began = time.perf_counter()
    with stand_in:
        client = SpotClient(stand_in.url, Credentials("k", secret="s"), MARKET)
        executor = Executor(VenueStore(engine), client, bot.name, bot_prefix(bot.namespace, bot.name))
        trader = VenueTrader(bot, CandleStore(engine), TradingStore(engine), MARKET, batch=1, executor=executor,
                             base_asset="BTC", quote_asset="USDT")  # fmt: skip
        trader.start()
        for row in frame.itertuples():
            stand_in.advance(high=row.high, low=row.low, close=row.close)
            trader.step()
        report = trader.divergence().summary()
    took = time.perf_counter() - began
    print(
        f"divergence, simple_rsi on {len(frame):,} candles of the real month ({took:.0f} s): {report['decisions']} decisions, "
        f"mean slippage {report['mean_slippage_bps']:.2f} bps, price cost {report['price_cost']:.2f} USDT, "
        f"fee difference {report['fee_cost']:.2f}, unfilled {report['unfilled_notional']:.2f}, "
        f"rejections {report['rejections']}, partial fills {report['partial_fills']}, "
        f"venue PnL − paper PnL {report['pnl_difference']:.2f} USDT"
    )


if __name__ == "__main__":
    main()
