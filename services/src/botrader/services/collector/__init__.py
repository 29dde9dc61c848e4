"""Market-data collector: Binance kline streams (or a replay file) into the candles table."""

from botrader.services.collector.service import CollectorConfig, run_collector

__all__ = ["CollectorConfig", "run_collector"]
