"""Any symbol, real data files: market rules come from the symbol (a bundled snapshot of
Binance's filters, refreshable), and Binance's public data dumps are read as they come —
headerless CSV, the zip around it, microsecond timestamps."""

from __future__ import annotations

import asyncio
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from botrader.core.backtesting.runner import run_backtest
from botrader.core.binance.filters import rules_for
from botrader.core.cli.main import main
from botrader.core.data.files import KLINE_COLUMNS, read_candles_frame, symbol_of
from botrader.core.engine.engine import EngineConfig
from botrader.core.errors import UserError
from botrader.core.strategy.registry import resolve
from tests.support import reference_strategies as reference
from tests.support.paths import REPO

SMA_CROSS = f"{REPO / 'examples' / 'strategies' / 'sma_cross.py'}:SmaCross"


def dump_rows(frame: pd.DataFrame, micro: bool = False) -> pd.DataFrame:
    """The candles as Binance's kline dump has them: twelve columns, close time, trade count."""
    scale = 1000 if micro else 1
    return pd.DataFrame(
        {
            "open_time": frame["open_time"] * scale,
            "open": frame["open"],
            "high": frame["high"],
            "low": frame["low"],
            "close": frame["close"],
            "volume": frame["volume"],
            "close_time": (frame["open_time"] + 59_999) * scale,
            "quote_volume": frame["volume"] * frame["close"],
            "count": 100,
            "taker_buy_volume": frame["volume"] / 2,
            "taker_buy_quote_volume": frame["volume"] * frame["close"] / 2,
            "ignore": 0,
        }
    )[list(KLINE_COLUMNS)]


def test_binance_dumps_are_read_as_they_come(real_candles: pd.DataFrame, tmp_path: Path) -> None:
    frame = real_candles.iloc[:500].reset_index(drop=True)
    headerless = tmp_path / "BTCUSDT-1m-2025-06.csv"
    dump_rows(frame).to_csv(headerless, header=False, index=False)
    archive = tmp_path / "BTCUSDT-1m-2025-06.zip"
    with zipfile.ZipFile(archive, "w") as z:
        buffer = io.StringIO()
        dump_rows(frame, micro=True).to_csv(buffer, header=False, index=False)  # 2025+ spot: µs
        z.writestr("BTCUSDT-1m-2025-06.csv", buffer.getvalue())
    with_header = tmp_path / "ETHUSDT-1m-2025-06-01.csv"
    dump_rows(frame).to_csv(with_header, index=False)  # futures dumps carry the header row
    expected = frame.assign(quote_volume=frame["volume"] * frame["close"])  # the dump's, kept
    for path in (headerless, archive, with_header):
        got = read_candles_frame(path)
        assert got.columns.tolist() == ["open_time", "open", "high", "low", "close", "volume", "quote_volume"]
        pd.testing.assert_frame_equal(got, expected[got.columns.tolist()], check_dtype=False)
    assert symbol_of(archive) == "BTCUSDT" and symbol_of(with_header) == "ETHUSDT"
    assert symbol_of(tmp_path / "candles.csv") is None
    empty = tmp_path / "two.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("a.csv", "1,2\n")
        z.writestr("b.csv", "1,2\n")
    with pytest.raises(UserError, match="expected one CSV inside the zip, found 2"):
        read_candles_frame(empty)


def test_a_symbol_trades_on_its_own_units(real_candles: pd.DataFrame, tmp_path: Path) -> None:
    """An AVAX-priced series (the real month scaled to ~21 USDT) on AVAXUSDT's 0.01 tick and
    0.01 step equals the independent implementation with those rules; BTCUSDT's step would
    size it differently."""
    avax = real_candles.iloc[:6000].reset_index(drop=True)
    for col in ("open", "high", "low", "close"):
        avax[col] = (avax[col] / 5000).round(2)
    rules = rules_for("AVAXUSDT")
    assert (rules.tick_size, rules.step_size, rules.min_notional) == (
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal(5),
    )
    result = run_backtest(avax, resolve(SMA_CROSS)(), EngineConfig(market=rules))
    book = reference.sma_cross(avax, rules=reference.Rules(Decimal("0.01"), Decimal("0.01")))
    m = result.engine.market
    trades = [(f.time, f.side, str(m.to_base(f.lots)), str(m.price(f.price)), f.reason) for f in result.fills]
    assert trades == book.trades and len(trades) > 100
    assert result.engine.equity_quote() == reference.final_equity(book, avax)
    as_btc = run_backtest(avax, resolve(SMA_CROSS)(), EngineConfig())
    assert as_btc.engine.equity_quote() != result.engine.equity_quote()
    path = tmp_path / "AVAXUSDT-1m-2025-06.csv"
    dump_rows(avax).to_csv(path, header=False, index=False)
    assert main(["backtest", "--strategy", SMA_CROSS, "--data", str(path), "--json"]) == 0


def test_unknown_symbols_and_a_refreshed_filter_file(
    candles_slice, fake_binance_factory, tmp_path, monkeypatch, capsys
) -> None:
    with pytest.raises(UserError, match="unknown symbol 'NOPEUSDT': no exchange filters for it"):
        rules_for("NOPEUSDT")
    assert (
        main(
            [
                "backtest",
                "--data",
                str(REPO / "examples/data/btcusdt-1m-2025-06-01.csv.gz"),
                "--symbol",
                "NOPEUSDT",
            ]
        )
        == 2
    )
    assert "botrader symbols refresh" in capsys.readouterr().err

    async def refresh() -> int:
        server = await fake_binance_factory(
            {("BTCUSDT", "1m"): candles_slice(0, 5)},
            filters={"NOPEUSDT": ("0.00010000", "1.00000000", "1.00000000")},
        )
        monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", server.rest_url)
        return await asyncio.to_thread(main, ["symbols", "refresh", "--out", str(tmp_path / "filters.json")])

    assert asyncio.run(refresh()) == 0
    assert "wrote the filters of 2 symbols" in capsys.readouterr().out
    monkeypatch.setenv("BOTRADER_EXCHANGE_FILTERS", str(tmp_path / "filters.json"))
    rules = rules_for("NOPEUSDT")
    assert (rules.tick_size, rules.step_size, rules.min_notional) == (
        Decimal("0.0001"),
        Decimal(1),
        Decimal(1),
    )
    assert main(["symbols", "list"]) == 0
    assert "NOPEUSDT" in capsys.readouterr().out


def test_a_bad_quote_volume_is_named_with_its_row(tmp_path: Path) -> None:
    path = tmp_path / "AVAXUSDT-1m-2025-02.csv"
    path.write_text(
        "open_time,open,high,low,close,volume,quote_volume\n"
        "1738368000000,2,2,2,2,1,2.0\n"
        "1738368060000,2,2,2,2,1,-5\n"
    )
    with pytest.raises(UserError, match=r"bad quote_volume -5\.0 at data row 2"):
        read_candles_frame(path)
    path.write_text("open_time,open,high,low,close,volume,quote_volume\n1738368000000,2,2,2,2,1,\n")
    assert read_candles_frame(path)["quote_volume"].isna().all()  # none given: volume × close ranks it
