"""Hand-computed cases pin the money arithmetic (BTCUSDT rules: tick 0.01, step 0.00001,
so one cash unit is 1e-7 USDT)."""

from decimal import Decimal

import numpy as np
import pytest

from botrader.core.engine.portfolio import Portfolio
from botrader.core.engine.units import (
    MarketRules,
    affordable_lots,
    buy_price,
    fee_for,
    fee_ppm,
    fraction_of,
    sell_price,
    slippage_units,
)

BTC = MarketRules()


def test_units_of_btcusdt() -> None:
    assert BTC.cash_unit == Decimal("1E-7")
    assert BTC.cash_units("10000") == 100_000_000_000
    assert BTC.cash_units("0.00000019") == 1  # rounded down: never invent money
    assert BTC.ticks(104217.5) == 10_421_750
    assert BTC.to_quote(100_000) == Decimal("0.01")
    assert BTC.min_notional_units == 50_000_000


def test_round_trip_by_hand() -> None:
    """Buy with all of 10,000 USDT at 50,000, sell at 51,000, 0.1% fee each way."""
    pf = Portfolio(cash=BTC.cash_units(10_000))
    price = BTC.ticks(50_000.00)
    lots = affordable_lots(pf.cash, price, fee_ppm(0.001))
    assert lots == 19_980  # 0.19980 BTC: 9,990.00 notional + 9.99 fee <= 10,000
    fee = fee_for(lots * price, 1000)
    assert BTC.to_quote(lots * price) == Decimal("9990.0000000") and BTC.to_quote(fee) == Decimal("9.9900000")
    pf.apply_buy(lots, price, fee)
    assert BTC.to_quote(pf.cash) == Decimal("0.0100000")
    exit_price = BTC.ticks(51_000.00)
    sell_fee = fee_for(lots * exit_price, 1000)
    assert BTC.to_quote(sell_fee) == Decimal("10.1898000")
    pnl = pf.apply_sell(lots, exit_price, sell_fee)
    assert BTC.to_quote(pnl) == Decimal("179.6202000")
    assert BTC.to_quote(pf.cash) == Decimal("10179.6202000")
    assert pf.round_trips == [pnl] and pf.lots == 0 and pf.cost_basis == 0
    assert BTC.to_quote(pf.fees_paid) == Decimal("20.1798000")


def test_partial_sells_split_the_cost_basis_exactly() -> None:
    pf = Portfolio(cash=1_000_000)
    pf.apply_buy(3, 100_000, 7)  # basis 300,007
    first = pf.apply_sell(1, 110_000, 0)  # releases floor(300,007 / 3) = 100,002
    assert first == 110_000 - 100_002 and pf.cost_basis == 200_005
    second = pf.apply_sell(2, 90_000, 0)
    assert second == 180_000 - 200_005 and pf.cost_basis == 0
    assert pf.round_trips == [first + second] and pf.realized_pnl == first + second
    assert pf.cash == 1_000_000 - 300_007 + 110_000 + 180_000


def test_rounding_goes_against_the_trader() -> None:
    assert fee_for(1, 1000) == 1  # a fee is always charged
    assert fee_for(999_999, 1) == 1 and fee_for(1_000_000, 1) == 1 and fee_for(1_000_001, 1) == 2
    assert slippage_units(2.5) == 250
    assert buy_price(10_000_001, 250) == 10_002_502  # 10,002,501.00025 rounded up
    assert sell_price(10_000_001, 250) == 9_997_500  # 9,997,500.99975 rounded down
    assert fraction_of(1_000_003, 500_000) == 500_001


def test_fee_never_overflows_int64_and_matches_python_ints() -> None:
    notional = np.array([0, 1, 10**15, 9 * 10**18 // 1000], dtype=np.int64)
    got = fee_for(notional, 999_999)
    expected = [-(-int(n) * 999_999 // 1_000_000) for n in notional]
    assert got.dtype == np.int64 and got.tolist() == expected


def test_cannot_overspend_or_short() -> None:
    pf = Portfolio(cash=100)
    with pytest.raises(ValueError, match="costs"):
        pf.apply_buy(1, 100, 1)
    with pytest.raises(ValueError, match="no shorting"):
        pf.apply_sell(1, 100, 0)


def test_rules_from_binance_exchange_info() -> None:
    info = {
        "symbol": "ETHBTC",
        "filters": [
            {"filterType": "PRICE_FILTER", "tickSize": "0.00001000"},
            {"filterType": "LOT_SIZE", "stepSize": "0.00010000"},
            {"filterType": "NOTIONAL", "minNotional": "0.00010000"},
        ],
    }
    rules = MarketRules.from_exchange_info(info)
    assert (rules.tick_size, rules.step_size, rules.min_notional) == (
        Decimal("0.00001"),
        Decimal("0.0001"),
        Decimal("0.0001"),
    )
    assert rules.cash_unit == Decimal("1E-9")


def test_period_returns_take_each_periods_last_mark() -> None:
    from botrader.core.engine.performance import period_returns

    times = np.array([0, 1, 2, 3, 4, 5]) * 30 * 60_000  # half-hourly marks over three hours
    assert period_returns(
        times, np.array([100, 101, 102, 99, 99, 110.0]), 3_600_000, 100.0
    ).tolist() == pytest.approx([0.01, 99 / 101 - 1, 110 / 99 - 1])
