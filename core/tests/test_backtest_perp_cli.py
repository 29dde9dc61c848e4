"""`botrader backtest --market usdm-perp` on a real bundled month (AVAXUSDT perpetual,
February 2025): the long/short example strategy end to end, funding named or refused, and
one-line errors for market options that do not fit."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from botrader.core.cli.main import main
from tests.support.cli import one_error_line
from tests.support.paths import REPO

AVAX = REPO / "examples" / "data" / "AVAXUSDT-1m-2025-02.csv.gz"
LONG_SHORT = "rsi_long_short"
FEB, HOUR = 1_738_368_000_000, 3_600_000


def perp(capsys, *argv: str) -> dict:
    args = ["backtest", "--data", str(AVAX), "--strategy", LONG_SHORT, "--market", "usdm-perp", *argv]
    assert main([*args, "--json", "--fills"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_long_short_month_with_funding_from_a_binance_dump(capsys, tmp_path: Path) -> None:
    # every 8 h of February, +0.01% and -0.02% in turn, in Binance's own zip format
    rows = [f"{FEB + i * 8 * HOUR},8,{'-0.00020000' if i % 2 else '0.00010000'}" for i in range(28 * 3)]
    dump = tmp_path / "AVAXUSDT-fundingRate-2025-02.zip"
    with zipfile.ZipFile(dump, "w") as archive:
        archive.writestr(
            dump.with_suffix(".csv").name,
            "calc_time,funding_interval_hours,last_funding_rate\n" + "\n".join(rows),
        )
    out = perp(capsys, "--leverage", "2", "--funding", str(dump))
    assert out["market"] == "usdm-perp" and out["leverage"] == 2 and out["liquidations"] == 0
    sides = {f["side"] for f in out["fills"]}
    assert sides == {"buy", "sell"} and out["trades"] > 100
    # it went short: some sell opened a position (its PnL is only the fee it paid)
    assert any(f["side"] == "sell" and float(f["pnl"]) <= 0 and f["reason"] == "signal" for f in out["fills"])
    assert out["funding"] != 0
    constant = perp(capsys, "--leverage", "2", "--funding-rate", "0.0001")
    assert constant["trades"] == out["trades"] and constant["funding"] != out["funding"]


def test_a_perpetual_without_funding_is_refused_never_a_silent_zero(capsys) -> None:
    args = ["backtest", "--data", str(AVAX), "--market", "usdm-perp"]
    assert main(args) == 2
    one_error_line(capsys, "needs its funding: --funding FILE|DIR", "--funding-rate RATE")


def test_a_funding_file_that_stops_early_names_the_first_missing_time(capsys, tmp_path: Path) -> None:
    short = tmp_path / "AVAXUSDT-fundingRate-2025-02.csv"
    short.write_text("".join(f"{FEB + i * 8 * HOUR},8,0.0001\n" for i in range(10)))
    assert main(["backtest", "--data", str(AVAX), "--market", "usdm-perp", "--funding", str(short)]) == 2
    one_error_line(capsys, "has no rate for the funding time 2025-02-04T08:00:00Z")


def test_market_options_that_do_not_fit(capsys) -> None:
    assert main(["backtest", "--data", str(AVAX), "--leverage", "3"]) == 2
    one_error_line(capsys, "--leverage apply to --market usdm-perp, not spot")
    assert main(["backtest", "--data", str(AVAX), "--market", "coin-m"]) == 2
    one_error_line(capsys, "unknown market 'coin-m': expected spot or usdm-perp")
    bad = [
        "backtest",
        "--data",
        str(AVAX),
        "--market",
        "usdm-perp",
        "--funding-rate",
        "0",
        "--leverage",
        "76",
    ]
    assert main(bad) == 2
    one_error_line(capsys, "bad leverage 76: AVAXUSDT allows 1 to 75")


def test_the_liquidation_guard_from_the_command_line(capsys) -> None:
    risky = ["--leverage", "25", "--funding-rate", "0.0001", "--param", "stop_loss=0.08"]
    risky += ["--param", "overbought=85", "--param", "oversold=15"]
    bare = perp(capsys, *risky)
    guarded = perp(capsys, *risky, "--liquidation-buffer", "0.01")
    assert bare["liquidations"] == 3 and guarded["liquidations"] == 0
    assert guarded["exits"]["liquidation_guard"] > 0
    assert main(["backtest", "--data", str(AVAX), "--liquidation-buffer", "0.01"]) == 2
    one_error_line(capsys, "--liquidation-buffer apply to --market usdm-perp, not spot")


def test_mark_prices_from_a_markpriceklines_dump(capsys, tmp_path: Path) -> None:
    """A mark at a 2% premium to the last price (longs liquidate later, shorts sooner): the
    liquidations move with it (the engine's own test pins where)."""
    from botrader.core.data.files import read_candles_frame

    frame = read_candles_frame(AVAX)
    calm = frame.assign(**{c: (frame[c] * 1.02).round(3) for c in ("open", "high", "low", "close")})
    dump = tmp_path / "AVAXUSDT-1m-2025-02.csv"  # markPriceKlines: the kline columns, headerless
    calm.assign(
        close_time=calm["open_time"] + 59_999, quote_volume=0, count=0, taker_buy_volume=0,
        taker_buy_quote_volume=0, ignore=0,
    ).to_csv(dump, header=False, index=False)  # fmt: skip
    risky = ["--leverage", "25", "--funding-rate", "0.0001", "--param", "stop_loss=0.08"]
    risky += ["--param", "overbought=85", "--param", "oversold=15"]
    last = perp(capsys, *risky)
    marked = perp(capsys, *risky, "--mark", str(dump))
    assert last["liquidations"] == 3
    assert (marked["liquidations"], marked["final_equity"]) != (last["liquidations"], last["final_equity"])
    assert main(["backtest", "--data", str(AVAX), "--mark", str(dump)]) == 2
    one_error_line(capsys, "--mark apply to --market usdm-perp, not spot")
