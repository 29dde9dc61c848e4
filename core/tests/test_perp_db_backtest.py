"""A perpetual backtested on the candles a binance-usdm collector stored pays the funding
rates and reads the mark klines it stored beside them — with --market usdm-perp, and for a
binance-usdm bot's own manifest — and a funding time without a stored rate (or, for the bot,
a candle without its mark) is refused in one line."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from botrader.core.candles import make_key
from botrader.core.cli.main import main
from botrader.core.data.files import frame_to_candles, read_candles_frame
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.funding_rates import FundingRateStore
from botrader.core.db.mark_prices import MarkPriceStore
from tests.support.cli import one_error_line
from tests.support.paths import REPO

AVAX = REPO / "examples" / "data" / "AVAXUSDT-1m-2025-02.csv.gz"
FEB = 1_738_368_000_000  # 2025-02-01T00:00Z, the first candle and a funding time
HOUR = 3_600_000


@pytest.fixture
def collected(sqlite_url: str) -> str:
    db = connect(sqlite_url)
    upgrade(db)
    frame = read_candles_frame(AVAX).iloc[: 2 * 1440].reset_index(drop=True)  # two days
    CandleStore(db).upsert(make_key("binance-usdm", "AVAXUSDT", "1m"), frame_to_candles(frame))
    rates = [(FEB + i * 8 * HOUR, [25_000, -40_000][i % 2]) for i in range(6)]
    FundingRateStore(db).upsert("binance-usdm", "AVAXUSDT", rates)
    MarkPriceStore(db).upsert("binance-usdm", "AVAXUSDT", "1m", frame_to_candles(marks_of(frame)))
    return sqlite_url


def marks_of(frame: pd.DataFrame) -> pd.DataFrame:
    """Mark klines unlike the last price: opens 0.05% higher (funding is priced on them),
    wicks about half as long (liquidation reads them)."""
    opened = frame.open * 1.0005
    high = pd.concat([(frame.high + frame.close) / 2, opened, frame.close], axis=1).max(axis=1)
    low = pd.concat([(frame.low + frame.close) / 2, opened, frame.close], axis=1).min(axis=1)
    return frame.assign(open=opened, high=high, low=low)


def backtest(*args: str) -> list[str]:
    return ["backtest", "--json", *args]


def test_the_stored_rates_are_paid(collected: str, capsys, tmp_path: Path) -> None:
    base = ["--db", collected, "--exchange", "binance-usdm", "--symbol", "AVAXUSDT"]
    perp = ["--strategy", "rsi_long_short", "--market", "usdm-perp", "--leverage", "3"]
    assert main(backtest(*base, *perp)) == 0
    stored = json.loads(capsys.readouterr().out)
    assert stored["funding"] != 0
    # the same rates given as a file of Binance's format give the same result
    dump = tmp_path / "AVAXUSDT-fundingRate-2025-02.csv"
    dump.write_text(
        "calc_time,funding_interval_hours,last_funding_rate\n"
        + "".join(f"{FEB + i * 8 * HOUR + 7},8,{['0.00025', '-0.0004'][i % 2]}\n" for i in range(6))
    )
    assert main(backtest(*base, *perp, "--funding", str(dump))) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert (stored["funding"], stored["final_equity"]) == (from_file["funding"], from_file["final_equity"])
    # … and the stored mark klines are the marks: the same written as a markPriceKlines file
    marks = tmp_path / "AVAXUSDT-1m-marks.csv"
    marks_of(read_candles_frame(AVAX).iloc[: 2 * 1440]).to_csv(marks, index=False)
    assert main(backtest(*base, *perp, "--mark", str(marks))) == 0
    from_marks = json.loads(capsys.readouterr().out)
    assert (stored["funding"], stored["final_equity"]) == (from_marks["funding"], from_marks["final_equity"])
    # a binance-usdm bot without spec.funding pays the same stored rates
    bot = {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": "avax-live"},
        "spec": {
            "symbol": "AVAXUSDT",
            "source": "binance-usdm",
            "market": "usdm-perp",
            "leverage": 3,
            "strategy": {"type": "rsi_long_short"},
            "execution": {"feeRate": 0.001},
            "risk": {"dailyLossLimitFraction": 1, "maxDrawdownFraction": 1},
        },
    }
    manifest = tmp_path / "bot.yaml"
    manifest.write_text(yaml.safe_dump(bot))
    assert main(backtest("--bot", str(manifest), "--db", collected)) == 0
    assert json.loads(capsys.readouterr().out)["funding"] == stored["funding"]


def test_a_missing_stored_rate_is_named(collected: str, capsys) -> None:
    db = connect(collected)  # the stored rates stop at FEB + 40 h: add a third day of candles
    frame = read_candles_frame(AVAX).iloc[2 * 1440 : 3 * 1440]
    CandleStore(db).upsert(make_key("binance-usdm", "AVAXUSDT", "1m"), frame_to_candles(frame))
    args = ["--db", collected, "--exchange", "binance-usdm", "--symbol", "AVAXUSDT", "--market", "usdm-perp"]
    assert main(backtest(*args, "--strategy", "rsi_long_short")) == 2
    line = one_error_line(capsys)
    assert "no funding rate for 2025-02-03T00:00:00Z" in line and "--funding-rate" in line


def test_a_bot_s_missing_mark_kline_is_named(collected: str, capsys, tmp_path: Path) -> None:
    db = connect(collected)
    extra = read_candles_frame(AVAX).iloc[2 * 1440 : 2 * 1440 + 60]  # candles and a rate, no marks
    CandleStore(db).upsert(make_key("binance-usdm", "AVAXUSDT", "1m"), frame_to_candles(extra))
    FundingRateStore(db).upsert("binance-usdm", "AVAXUSDT", [(FEB + 48 * HOUR, 10_000)])
    bot = {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": "avax-live"},
        "spec": {"symbol": "AVAXUSDT", "source": "binance-usdm", "market": "usdm-perp"},
    }
    manifest = tmp_path / "bot.yaml"
    manifest.write_text(yaml.safe_dump(bot))
    assert main(backtest("--bot", str(manifest), "--db", collected)) == 2
    assert "no mark kline for 2025-02-03T00:00:00Z" in one_error_line(capsys)
