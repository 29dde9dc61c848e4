"""The portfolio engine on hand-computed cases: one wallet shared by three symbols whose cash
units differ (A: 0.01 × 0.01 = 1e-4 USDT, B: 0.1 × 0.1 = 1e-2, C: 0.01 × 0.1 = 1e-3; the
wallet's unit 1e-4, factors 1, 100, 10), fee 0.1%, flat prices (A 10, B 100, C 20), so every
figure below is integer arithmetic one can redo by hand. Amounts in wallet units (1e-4 USDT)
unless said otherwise."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botrader.core.backtesting.runner import run_backtest
from botrader.core.binance.filters import rules_for
from botrader.core.data.files import read_candles_frame
from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.engine.exits import Exits
from botrader.core.engine.risk import RiskConfig
from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError
from botrader.core.portfolio.backtest import run_portfolio_backtest
from botrader.core.portfolio.config import PortfolioConfig
from botrader.core.portfolio.engine import PortfolioEngine, Refusal, Wakes
from botrader.core.portfolio.universe import Schedule
from botrader.core.strategy.registry import make
from engine_helpers import MINUTE, T0, Scripted
from tests.support.paths import BINANCE_MONTH, SAMPLE

A = MarketRules("AUSDT", Decimal("0.01"), Decimal("0.01"), Decimal("1"))
B = MarketRules("BUSDT", Decimal("0.1"), Decimal("0.1"), Decimal("1"))
C = MarketRules("CUSDT", Decimal("0.01"), Decimal("0.1"), Decimal("1"))
PRICES = {"AUSDT": 10.0, "BUSDT": 100.0, "CUSDT": 20.0}


def book(
    scripts: dict[str, dict[int, float]],
    config: PortfolioConfig,
    schedule: Schedule | None = None,
    exits: Exits | None = None,
    wakes: Wakes | None = None,
) -> PortfolioEngine:
    markets = {"AUSDT": A, "BUSDT": B, "CUSDT": C}
    engines = {
        s: Engine(Scripted(actions, exits), EngineConfig(budget=Decimal(1000), market=markets[s]))
        for s, actions in scripts.items()
    }
    return PortfolioEngine(engines, Decimal(1000), config, schedule, wakes)


def candle(price: float) -> tuple[float, float, float, float, float]:
    return (price, price, price, price, 1e9)


def run(p: PortfolioEngine, minutes: int, prices: dict[int, dict[str, float | None]] | None = None) -> None:
    """Step `minutes` minutes at PRICES, overridden per minute (None: no candle that minute)."""
    for i in range(minutes):
        now = {**PRICES, **(prices or {}).get(i, {})}
        p.step(T0 + i * MINUTE, {s: candle(v) for s, v in now.items() if v is not None and s in p.by_symbol})


def lots(p: PortfolioEngine) -> dict[str, int]:
    return {s.symbol: s.engine.portfolio.lots for s in p.sleeves}


def test_orders_of_one_minute_are_sized_on_one_snapshot_and_sells_fill_first() -> None:
    # minute 0: C buys with its stake, half the equity: 5,000,000 → 500,000 C units → 249 lots
    # (500,000e6 // (2000 ticks × 1,001,000)); cost 498,000 + fee 498 C units = 4,984,980
    # minute 1: C sells everything while A and B buy. Snapshot: equity 5,015,020 + 4,980,000 =
    # 9,995,020, stake 4,997,510; A sizes 4992 lots (4,997,510e6 // 1,001,000,000), B 49 lots
    # (49,975 B units). C's sale (+4,975,020) fills first, so both buys fit: had A's buy come
    # first, B would have found 18,028 left — not one lot.
    p = book(
        {"AUSDT": {1: 1.0}, "BUSDT": {1: 1.0}, "CUSDT": {0: 1.0, 1: -1.0}},
        PortfolioConfig(stake="fraction", stake_fraction=0.5),
    )
    run(p, 1)
    assert lots(p) == {"AUSDT": 0, "BUSDT": 0, "CUSDT": 249}
    assert p.cash == 10_000_000 - 4_984_980
    run(p, 2)  # minute 0 again is a replay: ignored
    assert lots(p) == {"AUSDT": 4992, "BUSDT": 49, "CUSDT": 0}
    assert p.cash == 9_990_040 - 4_996_992 - 4_904_900 == 88_148
    assert p.equity == [9_995_020, 9_980_148]  # every fee paid: 10,000,000 − 19,852
    seqs = [(f.time, f.side) for s in p.sleeves for f in s.engine.fills]
    assert sorted(seqs) == [(T0, "buy"), (T0 + MINUTE, "buy"), (T0 + MINUTE, "buy"), (T0 + MINUTE, "sell")]


def test_max_open_positions_refuses_in_symbol_order_and_a_sale_frees_a_slot() -> None:
    p = book(
        {"AUSDT": {0: 1.0, 1: -1.0}, "BUSDT": {0: 1.0}, "CUSDT": {0: 1.0, 1: 1.0}},
        PortfolioConfig(max_open_positions=2),
    )
    run(p, 2)
    # minute 0: stake = equity / 2 = 5,000,000 each; A and B fill, C (last) is refused
    assert p.refusals == [Refusal(T0, "CUSDT", "buy", 249, "max_open_positions")]
    # minute 1: A's sale fills before C's buy, so C takes the slot A left
    assert lots(p)["AUSDT"] == 0 and lots(p)["BUSDT"] == 49 and lots(p)["CUSDT"] > 0
    assert p.open_counts == [2, 2]


def test_max_gross_exposure_caps_an_opening_and_refuses_one_with_no_room_left() -> None:
    # stake 0.2 of equity, gross cap 0.3 (3,000,000). A, B and C buy at minute 0, in that order.
    # A fills its stake: 1998 lots (2,000,000e6 // 1,001,000,000), exposure 1,998,000. B finds
    # 1,002,000 of room: 10,020 B units buy 10 lots (10,010 with the fee), exposure 1,000,000.
    # C finds 2,000 of room, under its minimum notional (1 USDT = 10,000): refused, recorded.
    p = book(
        {"AUSDT": {0: 1.0}, "BUSDT": {0: 1.0}, "CUSDT": {0: 1.0}},
        PortfolioConfig(stake="fraction", stake_fraction=0.2, max_gross_exposure=0.3),
    )
    run(p, 1)
    assert lots(p) == {"AUSDT": 1998, "BUSDT": 10, "CUSDT": 0}
    assert p.refusals == [Refusal(T0, "CUSDT", "buy", 99, "max_gross_exposure")]


def test_a_missing_candle_skips_the_symbol_and_marks_it_at_its_last_close() -> None:
    p = book({"AUSDT": {}, "BUSDT": {0: 1.0}}, PortfolioConfig(stake="fraction", stake_fraction=1.0))
    run(p, 3, {1: {"BUSDT": None, "AUSDT": 11.0}, 2: {"BUSDT": 120.0}})
    b = p.by_symbol["BUSDT"].engine
    # B bought at minute 0: 99 lots (100,000e6 // (1000 ticks × 1,001,000)) for 99,000 + fee 99
    # B units: 9,909,900
    assert b.portfolio.lots == 99 and p.cash == 10_000_000 - 9_909_900 == 90_100
    assert b.strategy.i == 1  # B's strategy saw two candles: minutes 0 and 2
    assert b.last_time == T0 + 2 * MINUTE
    # minute 1 marks B at its last close (100), minute 2 at 120
    assert p.equity[1] == 90_100 + 99 * 1000 * 100
    assert p.equity[2] == 90_100 + 99 * 1200 * 100


@pytest.mark.parametrize("on_exit", ["close", "hold"])
def test_a_symbol_leaving_the_universe_is_closed_or_held_and_never_entered(on_exit: str) -> None:
    schedule = Schedule([(T0, ["AUSDT", "BUSDT"]), (T0 + 2 * MINUTE, ["AUSDT"])])
    p = book(
        {"AUSDT": {}, "BUSDT": {0: 1.0, 3: -1.0, 4: 1.0}},
        PortfolioConfig(stake="fraction", stake_fraction=0.5, on_exit=on_exit),  # type: ignore[arg-type]
        schedule,
    )
    run(p, 5)
    fills = [(f.time, f.side, f.reason) for f in p.by_symbol["BUSDT"].engine.fills]
    if on_exit == "close":  # closed at the close of the minute it left
        assert fills == [(T0, "buy", "signal"), (T0 + 2 * MINUTE, "sell", "universe_exit")]
    else:  # held until the strategy's own sale
        assert fills == [(T0, "buy", "signal"), (T0 + 3 * MINUTE, "sell", "signal")]
    # never entered again: the buy of minute 4 is refused, and says why
    assert [(r.time, r.symbol, r.side, r.reason) for r in p.refusals] == [
        (T0 + 4 * MINUTE, "BUSDT", "buy", "universe")
    ]
    assert lots(p)["BUSDT"] == 0


def test_a_pair_not_picked_sleeps_and_wakes_fresh_on_its_last_candles() -> None:
    """B is picked at minute 3, leaves at 5 holding (onExit: hold), sells at 6 and sleeps, and is
    picked again at 8: it is stepped only from 3 to 6 (asleep from the minute after its sale) and
    from 8 on, and each wake starts a fresh
    strategy (its candle count from zero, so it buys again) warmed on its candles before the pick."""
    schedule = Schedule(
        [(T0, ["AUSDT"]), (T0 + 3 * MINUTE, ["AUSDT", "BUSDT"]), (T0 + 5 * MINUTE, ["AUSDT"])]
    )
    schedule.add(T0 + 8 * MINUTE, ["AUSDT", "BUSDT"])
    asked: list[tuple[str, int, int]] = []

    def history(symbol: str, time: int, n: int) -> list[tuple[int, float, float, float, float, float]]:
        asked.append((symbol, time, n))
        return [(time - MINUTE, *candle(PRICES[symbol]))]

    scripts = {"AUSDT": {}, "BUSDT": {0: 1.0, 3: -1.0}}
    wakes = Wakes(history, lambda symbol: Scripted(scripts[symbol]))
    p = book(
        scripts, PortfolioConfig(stake="fraction", stake_fraction=0.5, on_exit="hold"), schedule, wakes=wakes
    )
    seen = []
    for i in range(10):
        awake = p.awake_at(T0 + i * MINUTE)
        run_minute(p, i)
        seen.append((i, awake, p.by_symbol["BUSDT"].engine.strategy.i))
    b_awake = [i for i, awake, _ in seen if awake == ["AUSDT", "BUSDT"]]
    assert b_awake == [3, 4, 5, 6, 8, 9] and all(awake[0] == "AUSDT" for _, awake, _ in seen)
    assert [i_seen for _, _, i_seen in seen] == [-1, -1, -1, 0, 1, 2, 3, 3, 0, 1]  # fresh at each wake
    fills = [(f.time, f.side) for f in p.by_symbol["BUSDT"].engine.fills]
    assert fills == [(T0 + 3 * MINUTE, "buy"), (T0 + 6 * MINUTE, "sell"), (T0 + 8 * MINUTE, "buy")]
    warm = max(1, Scripted().warmup_length())
    assert asked == [("AUSDT", T0, warm), ("BUSDT", T0 + 3 * MINUTE, warm), ("BUSDT", T0 + 8 * MINUTE, warm)]
    assert p.refusals == []  # a sleeping pair never decides


def run_minute(p: PortfolioEngine, i: int) -> None:
    p.step(T0 + i * MINUTE, {s: candle(v) for s, v in PRICES.items() if s in p.by_symbol})


def test_the_portfolio_drawdown_breaker_halts_every_symbol_and_says_why() -> None:
    p = book(
        {"AUSDT": {0: 1.0, 3: -1.0}, "BUSDT": {3: 1.0}},
        PortfolioConfig(stake="fraction", stake_fraction=1.0, max_drawdown_fraction=0.1),
    )
    run(p, 4, {i: {"AUSDT": 8.0} for i in (1, 2, 3)})  # A falls 20%: the wallet ~20%
    assert p.risk.state.open["max_drawdown"].startswith("equity 799.")
    assert [(t, b) for t, b, _ in p.risk.trips] == [(T0 + MINUTE, "max_drawdown")]
    for sleeve in p.sleeves:  # neither A's sale nor B's buy at minute 3 became an order
        assert "portfolio_drawdown" in sleeve.engine.risk.state.open
    assert lots(p) == {"AUSDT": 9990, "BUSDT": 0}  # 1000e4 units // (1000 × 1,001,000/1e6)
    assert len(p.by_symbol["BUSDT"].engine.orders) == 0


def test_a_one_symbol_portfolio_is_the_same_bot() -> None:
    frame = read_candles_frame(SAMPLE)
    config = EngineConfig(budget=Decimal(10_000), market=rules_for("BTCUSDT"))
    alone = run_backtest(frame, make("simple_rsi"), config, warmup=20)
    together = run_portfolio_backtest(
        {"BTCUSDT": frame}, lambda s: make("simple_rsi"), lambda s: config, Decimal(10_000), warmup=20
    )
    sleeve = together.engine.sleeves[0].engine
    assert sleeve.fills == alone.engine.fills and len(sleeve.fills) > 10
    assert together.engine.equity == alone.engine.equity
    assert together.performance.final_equity == alone.performance.final_equity


def test_every_symbol_s_contribution_adds_up_to_the_portfolio_s_result() -> None:
    symbols = ("ALGOUSDT", "AVAXUSDT", "FILUSDT", "NEARUSDT")
    frames = {s: read_candles_frame(BINANCE_MONTH[s]).iloc[:8000] for s in symbols}
    result = run_portfolio_backtest(
        frames,
        lambda s: make("simple_rsi"),
        lambda s: EngineConfig(budget=Decimal(10_000), market=rules_for(s)),
        Decimal(10_000),
        PortfolioConfig(max_open_positions=2),
        warmup=100,
    )
    p = result.engine
    total = sum(
        (s.engine.portfolio.realized_pnl + s.engine.portfolio.unrealized_pnl(s.engine.last_close_ticks))
        * s.factor
        for s in p.sleeves
    )
    assert total == p.equity_now() - p.budget  # to the unit
    assert min(p.equity) > 0 and p.cash >= 0
    rows = result.summary()["symbols"]
    assert [r["symbol"] for r in rows] == list(symbols)
    assert sum(r["fills"] for r in rows) == result.performance.trades > 50
    assert max(p.open_counts) == 2 and any(
        r["reason"] == "max_open_positions" for r in result.summary()["refusals"]
    )


def test_what_a_portfolio_refuses_to_carry() -> None:
    def engine(**risk: float) -> Engine:
        return Engine(Scripted(), EngineConfig(market=A, risk=RiskConfig(**risk)))

    with pytest.raises(UserError, match=r"portfolio\.maxDrawdownFraction"):
        PortfolioEngine({"AUSDT": engine(max_drawdown_fraction=0.1)}, Decimal(1000))
    with pytest.raises(UserError, match="trades AUSDT"):
        PortfolioEngine({"BUSDT": engine()}, Decimal(1000))
    with pytest.raises(UserError, match="bad maxOpenPositions 0"):
        PortfolioConfig.from_spec({"maxOpenPositions": 0})
    with pytest.raises(UserError, match="unknown portfolio field 'maxOpen'"):
        PortfolioConfig.from_spec({"maxOpen": 3})
    assert PortfolioConfig.from_spec(
        {"stake": "fraction", "stakeFraction": 0.1, "onExit": "hold"}
    ) == PortfolioConfig(stake="fraction", stake_fraction=0.1, on_exit="hold")


def test_a_backtest_with_gaps_steps_each_symbol_only_at_its_own_candles() -> None:
    avax = read_candles_frame(BINANCE_MONTH["AVAXUSDT"]).iloc[:3000]
    near = read_candles_frame(BINANCE_MONTH["NEARUSDT"]).iloc[:3000]
    holed = near.drop(index=range(1000, 1060)).reset_index(drop=True)  # an hour without NEAR candles
    frames = {"AVAXUSDT": avax, "NEARUSDT": holed}

    def config(s: str) -> EngineConfig:
        return EngineConfig(budget=Decimal(10_000), market=rules_for(s))

    result = run_portfolio_backtest(frames, lambda s: make("simple_rsi"), config, Decimal(10_000))
    # the same minutes stepped by hand, each symbol's candle given only where it has one
    engines = {s: Engine(make("simple_rsi"), config(s)) for s in frames}
    by_hand = PortfolioEngine(engines, Decimal(10_000))
    rows = {
        s: {int(r.open_time): (r.open, r.high, r.low, r.close, r.volume) for r in f.itertuples()}
        for s, f in frames.items()
    }
    for t in sorted(rows["AVAXUSDT"]):
        by_hand.step(t, {s: r[t] for s, r in rows.items() if t in r})
    assert by_hand.equity == result.engine.equity and len(result.engine.equity) == 3000
    near_engine = result.engine.by_symbol["NEARUSDT"].engine
    assert near_engine.last_time == int(holed.open_time.iloc[-1])
    assert sum(len(s.engine.fills) for s in result.engine.sleeves) > 4


def test_a_portfolio_resumed_from_its_snapshot_ends_where_an_uninterrupted_one_does() -> None:
    import json

    symbols = ("AVAXUSDT", "FILUSDT", "NEARUSDT")
    frames = {s: read_candles_frame(BINANCE_MONTH[s]).iloc[:6000] for s in symbols}
    rows = {
        s: [(int(r.open_time), (r.open, r.high, r.low, r.close, r.volume)) for r in f.itertuples()]
        for s, f in frames.items()
    }
    config = PortfolioConfig(max_open_positions=2, max_drawdown_fraction=0.5)

    def fresh() -> PortfolioEngine:
        engines = {
            s: Engine(make("simple_rsi"), EngineConfig(budget=Decimal(1), market=rules_for(s)))
            for s in symbols
        }
        return PortfolioEngine(engines, Decimal(10_000), config)

    def feed(p: PortfolioEngine, lo: int, hi: int) -> None:
        for i in range(lo, hi):
            p.step(rows["AVAXUSDT"][i][0], {s: r[i][1] for s, r in rows.items()})

    whole = fresh()
    feed(whole, 0, 6000)
    first = fresh()
    feed(first, 0, 2500)
    resumed = fresh()
    resumed.restore(json.loads(json.dumps(first.snapshot())))  # through JSON, as the trader stores it
    feed(resumed, 2500, 6000)
    assert resumed.equity == whole.equity[2500:] and resumed.cash == whole.cash
    for a, b in zip(resumed.sleeves, whole.sleeves, strict=True):
        assert a.engine.portfolio == b.engine.portfolio
        assert a.engine.fills == b.engine.fills[len(first.by_symbol[a.symbol].engine.fills) :]
    assert sum(len(s.engine.fills) for s in whole.sleeves) > 20


def test_the_portfolio_day_loss_breaker_closes_at_the_next_utc_midnight() -> None:
    p = book(
        {"AUSDT": {0: 1.0}, "BUSDT": {}},
        PortfolioConfig(stake="fraction", stake_fraction=1.0, daily_loss_limit_fraction=0.05),
    )
    day = 86_400_000
    p.step(T0, {"AUSDT": candle(10.0), "BUSDT": candle(100.0)})
    p.step(T0 + MINUTE, {"AUSDT": candle(9.0), "BUSDT": candle(100.0)})  # −10% of the day's equity
    assert all("daily_loss" in s.engine.risk.state.open for s in p.sleeves)
    p.step(T0 + day, {"AUSDT": candle(9.0), "BUSDT": candle(100.0)})  # a new UTC day
    assert not any(s.engine.risk.state.open for s in p.sleeves)
    assert [b for _, b, _ in p.risk.trips] == ["daily_loss"]


class TopMover(Scripted):
    """Holds its symbol only while it is the minute's strongest (close over open): a rotation
    through the cross-sectional hook."""

    def setup(self) -> None:
        super().setup()
        self.top = False

    def on_minute(self, symbol: str, bars: dict) -> None:
        moves = {s: b.close / b.open for s, b in bars.items()}
        self.top = max(sorted(moves), key=lambda s: moves[s]) == symbol

    def on_candle(self, bar, ind, account) -> float | None:
        if self.top:
            return 1.0  # up to its stake: nothing more once there
        return -1.0 if account.long else None


def test_a_rotation_through_the_cross_sectional_hook_holds_the_minute_s_strongest() -> None:
    markets = {"AUSDT": A, "BUSDT": B, "CUSDT": C}
    engines = {s: Engine(TopMover(), EngineConfig(market=m)) for s, m in markets.items()}
    p = PortfolioEngine(engines, Decimal(1000), PortfolioConfig(max_open_positions=1))
    moves = [(1.01, 1.0, 0.99), (1.0, 1.02, 0.99), (1.0, 1.02, 0.99), (0.98, 0.99, 1.03), (0.99, 0.99, 1.01)]
    for i, move in enumerate(moves):
        candles = {}
        for (s, base), m in zip(PRICES.items(), move, strict=True):
            candles[s] = (base, base * max(m, 1), base * min(m, 1), round(base * m, 2), 1e9)
        p.step(T0 + i * MINUTE, candles)
        # where most of the wallet is; a sale funds the next minute's buy (this minute's orders
        # are sized on its snapshot, when the cash was still in the position being sold)
        most = [s.symbol for s in p.sleeves if s.value() * 2 > p.equity[-1]]
        assert most == [["AUSDT"], [], ["BUSDT"], [], ["CUSDT"]][i]
    assert not p.refusals
    assert p.by_symbol["CUSDT"].engine.strategy.state()["attrs"]["top"] is True  # saved with its state


def test_a_volatility_stake_gives_the_calmer_pair_more_hand_computed() -> None:
    from botrader.core.portfolio.volatility import InverseVolatility

    stake = PortfolioConfig(stake="volatility").stake_for(2)  # the equal share: 500,000 ppm
    assert isinstance(stake, InverseVolatility)
    for _ in range(13):  # A ranges 2% of its price every minute, B 1%; 13 candles: no ATR yet
        stake.observe("AUSDT", 10.1, 9.9, 10.0)
        stake.observe("BUSDT", 100.5, 99.5, 100.0)
    stake.refresh()
    assert stake.of("AUSDT", 1_000_000) == stake.of("BUSDT", 1_000_000) == 500_000
    stake.observe("AUSDT", 10.1, 9.9, 10.0)
    stake.observe("BUSDT", 100.5, 99.5, 100.0)
    stake.refresh()
    # ATR 0.2 (2%) and 1.0 (1%): inverse 50 and 100, mean 75 → 500,000 × 50/75 and × 100/75
    assert stake.ppm == {"AUSDT": 333_333, "BUSDT": 666_667}
    assert stake.of("AUSDT", 1_000_000) == 333_333
    capped = PortfolioConfig(stake="volatility", max_position_fraction=0.6).stake_for(2)
    capped.load(stake.state())
    capped.refresh()
    assert capped.of("BUSDT", 1_000_000) == 600_000  # maxPositionFraction still caps it


def test_a_volatility_stake_sizes_a_real_portfolio_and_resumes_exactly() -> None:
    import json

    symbols = ("AVAXUSDT", "FILUSDT", "NEARUSDT")
    frames = {s: read_candles_frame(BINANCE_MONTH[s]).iloc[:3000] for s in symbols}
    config = PortfolioConfig(stake="volatility", max_open_positions=2)

    def fresh() -> PortfolioEngine:
        engines = {s: Engine(make("simple_rsi"), EngineConfig(market=rules_for(s))) for s in symbols}
        return PortfolioEngine(engines, Decimal(10_000), config)

    rows = {
        s: [(int(r.open_time), (r.open, r.high, r.low, r.close, r.volume)) for r in f.itertuples()]
        for s, f in frames.items()
    }
    whole, first = fresh(), fresh()
    for i in range(3000):
        whole.step(rows["AVAXUSDT"][i][0], {s: r[i][1] for s, r in rows.items()})
        if i < 1200:
            first.step(rows["AVAXUSDT"][i][0], {s: r[i][1] for s, r in rows.items()})
    resumed = fresh()
    resumed.restore(json.loads(json.dumps(first.snapshot())))
    for i in range(1200, 3000):
        resumed.step(rows["AVAXUSDT"][i][0], {s: r[i][1] for s, r in rows.items()})
    assert resumed.equity == whole.equity[1200:]
    shares = whole.stake.ppm  # type: ignore[attr-defined]
    assert len(set(shares.values())) == 3 and sum(shares.values()) == pytest.approx(3 * 500_000, abs=3)
