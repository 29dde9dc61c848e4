"""The engine on a USD-M perpetual, hand-computed on a whole-unit market (tick 1, step 1: prices
are quote units, lots whole units, cash units quote units): a short opened and flipped long,
funding at its boundaries, a liquidation with its fee, a stop that is nearer than the
liquidation price, and a snapshot taken with a short open."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.exits import Exits
from botrader.core.engine.funding import FundingSchedule
from botrader.core.engine.instruments import UsdmPerp
from botrader.core.engine.margin import Bracket, PerpRules
from botrader.core.engine.marks import MarkPrices
from botrader.core.engine.risk import RiskConfig
from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError
from engine_helpers import MINUTE, T0, Scripted

WHOLE = MarketRules(symbol="TESTUSDT", tick_size=Decimal(1), step_size=Decimal(1), min_notional=Decimal(0))
# one bracket: maintenance 1%, no cum, up to 20x; clearance fee 0.5%
RULES = PerpRules(WHOLE, (Bracket(0, 10**15, 10_000, 0, 20),), liquidation_fee_ppm=5_000)
NO_FUNDING = FundingSchedule((), ())


class Shorting(Scripted):
    can_short = True


def engine(
    plan: dict[int, float],
    *,
    leverage: int = 1,
    budget: int = 1000,
    funding: FundingSchedule = NO_FUNDING,
    exits: Exits | None = None,
    strategy: type[Scripted] = Shorting,
    risk: RiskConfig | None = None,
    marks: MarkPrices | None = None,
) -> Engine:
    config = EngineConfig(
        budget=Decimal(budget),
        market=WHOLE,
        execution=ExecutionConfig(fee_rate=0.0),
        risk=risk or RiskConfig(),
        instrument=UsdmPerp(RULES, leverage, funding, marks),
    )
    return Engine(strategy(plan, exits), config)


def run(e: Engine, candles: list[tuple[float, float, float, float]], start: int = 0) -> Engine:
    for i, (o, h, lo, c) in enumerate(candles):
        e.on_bar(T0 + (start + i) * MINUTE, o, h, lo, c, 1e9)
    return e


def fills(e: Engine) -> list[tuple[int, str, int, int, int, str]]:
    return [((f.time - T0) // MINUTE, f.side, f.lots, f.price, f.pnl, f.reason) for f in e.fills]


def flat(price: float) -> tuple[float, float, float, float]:
    return (price, price, price, price)


def test_a_short_opened_then_flipped_long_by_one_action() -> None:
    e = run(engine({0: -1.0, 1: 1.0}, leverage=2), [flat(100), flat(90)])
    # −1: 2x of 1,000 at 100 is 20 short (1,000 margin). +1 at 90: equity 1,200, so the full
    # long is 2,400 / 90 = 26; the order buys 20 back (+200) and 26 more (1,170 margin)
    assert fills(e) == [(0, "sell", 20, 100, 0, "signal"), (1, "buy", 46, 90, 200, "signal")]
    assert (e.portfolio.lots, e.portfolio.margin, e.portfolio.cash) == (26, 1170, 30)


def test_a_long_only_strategy_cannot_go_short_on_a_perpetual() -> None:
    e = run(engine({0: 1.0, 1: -1.0, 2: -1.0}, strategy=Scripted), [flat(100)] * 3)
    assert fills(e) == [(0, "buy", 10, 100, 0, "signal"), (1, "sell", 10, 100, 0, "signal")]
    assert e.portfolio.lots == 0


def test_funding_is_paid_by_the_position_held_at_the_funding_time_and_no_other() -> None:
    rate = 100_000  # 0.1%
    schedule = FundingSchedule((T0 + 2 * MINUTE, T0 + 4 * MINUTE), (rate, rate))
    # long 10 at 100 from candle 0's close: held at T0+2m, it pays 10 × 100 × 0.1% = 1
    held = run(engine({0: 1.0, 3: -1.0}, funding=schedule, strategy=Scripted), [flat(100)] * 5)
    assert held.funding_events == [(T0 + 2 * MINUTE, rate, -1)]
    assert held.portfolio.funding == -1 and held.portfolio.round_trips == [-1]
    # a short opened at the close of the candle that opened at T0+2m was not held then: it
    # pays nothing for that time, and receives (a short, a positive rate) at T0+4m
    late = run(engine({2: -1.0}, funding=schedule), [flat(100)] * 5)
    assert late.funding_events == [(T0 + 4 * MINUTE, rate, 1)]
    assert late.portfolio.equity(100) == 1001


def test_a_liquidation_fills_at_the_liquidation_price_with_its_fee() -> None:
    e = engine({0: 1.0}, leverage=5, budget=100_000)
    run(e, [flat(10_000), (9_000, 9_100, 8_000, 8_500), flat(8_500)])
    # 50 long at 10,000 on 100,000 margin: (500,000 − 100,000) / (50 × 0.99) = 8,080.8 → 8,080;
    # balance there 4,000 (maintenance 4,040); fee 404,000 × 0.5% = 2,020; 1,980 comes back
    assert fills(e) == [(0, "buy", 50, 10_000, 0, "signal"), (1, "sell", 50, 8_080, -98_020, "liquidation")]
    assert e.fills[-1].fee == 2_020
    assert (e.portfolio.lots, e.portfolio.cash, e.portfolio.round_trips) == (0, 1_980, [-98_020])


def test_a_gap_through_the_liquidation_price_fills_at_the_open_and_costs_only_the_margin() -> None:
    e = run(engine({0: 1.0}, leverage=5, budget=100_000), [flat(10_000), (8_000, 8_100, 7_900, 8_000)])
    assert fills(e)[-1] == (1, "sell", 50, 8_000, -100_000, "liquidation")
    assert e.portfolio.cash == 0 and e.fills[-1].fee == 0


def test_a_nearer_stop_closes_the_position_before_the_liquidation_price() -> None:
    e = engine({0: 1.0}, leverage=5, budget=100_000, exits=Exits(stop_loss=0.1))
    run(e, [flat(10_000), (9_500, 9_600, 8_000, 8_500)])
    assert fills(e)[-1] == (1, "sell", 50, 9_000, -50_000, "stop_loss")
    # a stop beyond the liquidation price is too late: the liquidation comes first
    late = engine({0: 1.0}, leverage=5, budget=100_000, exits=Exits(stop_loss=0.25))
    run(late, [flat(10_000), (9_500, 9_600, 7_000, 8_500)])
    assert fills(late)[-1][-1] == "liquidation"


def test_a_snapshot_with_a_short_open_resumes_to_the_same_books() -> None:
    rate = 100_000
    schedule = FundingSchedule((T0 + 3 * MINUTE,), (rate,))
    candles = [flat(100), flat(98), (97, 99, 95, 96), flat(94), flat(99)]
    plan = {0: -1.0, 4: 1.0}
    whole = run(engine(plan, leverage=3, funding=schedule), candles)
    first = run(engine(plan, leverage=3, funding=schedule), candles[:2])
    resumed = engine(plan, leverage=3, funding=schedule)
    resumed.restore(first.snapshot())
    run(resumed, candles[2:], start=2)
    assert resumed.portfolio == whole.portfolio
    assert [f.to_dict() for f in first.fills + resumed.fills] == [f.to_dict() for f in whole.fills]


class Reads(Shorting):
    """Records what the account says at each decision."""

    def on_candle(self, bar, ind, account):  # type: ignore[no-untyped-def]
        self.seen = (
            account.side,
            account.position,
            account.leverage,
            account.margin,
            account.liquidation_price,
        )
        return super().on_candle(bar, ind, account)


def test_the_account_shows_a_short_its_margin_and_liquidation_price() -> None:
    e = run(engine({0: -1.0}, leverage=4, strategy=Reads), [flat(100), flat(100)])
    # 40 short at 100 on 1,000 margin: (4,000 + 1,000) / (40 × 1.01) = 123.76 → up to 124
    assert e.strategy.seen == ("short", -40.0, 4, 1000.0, 124.0)
    assert not e.account.flat and e.account.short


def test_the_liquidation_guard_closes_ahead_of_the_liquidation_price() -> None:
    e = engine({0: 1.0}, leverage=5, budget=100_000, risk=RiskConfig(liquidation_buffer=0.05))
    run(e, [flat(10_000), (9_000, 9_100, 8_000, 8_500)])
    # liquidation at 8,080; the guard 5% above it: ceil(8,080 × 1.05) = 8,484, a market close there
    assert fills(e)[-1] == (1, "sell", 50, 8_484, 50 * (8_484 - 10_000), "liquidation_guard")
    assert e.portfolio.cash == 100_000 - 50 * (10_000 - 8_484)


def test_a_short_trips_the_drawdown_breaker_and_the_leverage_cap_is_enforced() -> None:
    e = engine({0: -1.0}, risk=RiskConfig(max_drawdown_fraction=0.1))
    run(e, [flat(100), flat(105), flat(112), flat(113)])
    assert "max_drawdown" in e.risk.state.open  # short 10 from 100: at 112 equity is 880 (−12%)
    with pytest.raises(UserError, match="bad leverage 5: this bot's risk allows at most 3"):
        EngineConfig(market=WHOLE, risk=RiskConfig(max_leverage=3), instrument=UsdmPerp(RULES, 5, NO_FUNDING))


def test_mark_prices_decide_liquidation_and_funding_where_given() -> None:
    times = tuple(T0 + i * MINUTE for i in range(4))
    # minute 1: the last price wicks to 8,000 but the mark only to 8,200 (above 8,080): held;
    # minute 2: no mark candle, the candle's own prices; minute 3: the mark reaches 8,050
    marks = MarkPrices(
        (times[0], times[1], times[3]), (10_000, 9_900, 8_300), (10_000, 9_950, 8_400), (10_000, 8_200, 8_050)
    )
    funding = FundingSchedule((T0 + 3 * MINUTE,), (100_000,))
    e = run(
        engine({0: 1.0}, leverage=5, budget=100_000, funding=funding, marks=marks),
        [flat(10_000), (9_900, 9_950, 8_000, 9_000), flat(9_000), (8_500, 8_600, 8_300, 8_400)],
    )
    # funding at minute 3 on the mark's open: 50 × 8,300 × 0.1% = 415 out of the margin
    assert e.funding_events == [(T0 + 3 * MINUTE, 100_000, -415)]
    # the margin is 99,585 now: (500,000 − 99,585) / 49.5 = 8,089.19 → 8,089, reached by the mark's 8,050
    assert fills(e)[-1] == (3, "sell", 50, 8_089, fills(e)[-1][4], "liquidation")
