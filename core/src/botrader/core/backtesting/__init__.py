"""Applications of the engine: a backtest run, rolling-window walk-forwards, the HTML report.
The domain (`botrader.core.engine`) imports nothing from here."""
