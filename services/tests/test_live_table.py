"""`botrader up`'s candle table: prices keep their significant figures whatever the pair."""

from rich.console import Console

from botrader.core.candles import Candle, make_key
from botrader.services.embedded.live_table import LiveCandles, significant


def test_prices_keep_six_significant_figures_without_an_exponent() -> None:
    assert significant(97012.53) == "97,012.5"
    assert significant(0.3412) == "0.341200"
    assert significant(0.00001234) == "0.0000123400"
    assert significant(-0.000123456, 3) == "-0.000123"
    assert significant(0.0) == "0.0" and significant(None) == "–"


def test_the_table_shows_an_algo_candle_to_its_tick() -> None:
    key = make_key("binance", "ALGOUSDT", "1m")
    table = LiveCandles(key)
    table.add(key, [Candle(1_738_368_000_000, 0.3412, 0.3419, 0.3405, 0.3417, 120_345.0)])
    console = Console(width=200, record=True)
    console.print(table.render())
    text = console.export_text()
    assert "0.341200" in text and "0.341900" in text and "0.340500" in text and "0.341700" in text
    assert " 0.3 " not in text
