"""The collector's Prometheus metrics (names per DESIGN.md; bounded labels only)."""

from prometheus_client import Counter, Gauge, Histogram

CANDLES_INGESTED = Counter(
    "botrader_candles_ingested", "Closed candles newly written to the candles table", ["symbol", "interval"]
)
RECONNECTS = Counter(
    "botrader_collector_reconnects", "WebSocket reconnections (drops and planned 24 h renewals)", ["symbol"]
)
LAG = Gauge(
    "botrader_collector_lag_seconds",
    "Seconds from the newest stored candle's close to its commit",
    ["symbol", "interval"],
)
GAPS_FILLED = Counter(
    "botrader_collector_gaps_filled",
    "Candles missing from the stream (disconnects, restarts, lost messages) recovered over REST",
    ["symbol", "interval"],
)
INVALID_MESSAGES = Counter(
    "botrader_collector_invalid_messages", "Stream messages that were malformed or unexpected", ["reason"]
)
CONNECTED = Gauge("botrader_collector_connected", "1 while the market-data stream is connected")
LIVE_PRICE = Gauge(
    "botrader_collector_live_price", "Last price of the still-forming candle", ["symbol", "interval"]
)
LAST_CLOSE = Gauge(
    "botrader_collector_last_candle_close_timestamp_seconds",
    "Close time (Unix seconds) of the newest candle written; time() minus it is the data's age",
    ["symbol", "interval"],
)
CANDLE_PRICE = Gauge(
    "botrader_candle_price",
    "Prices of the newest closed candle (what Grafana's candlestick panel draws)",
    ["symbol", "interval", "ohlc"],
)
WRITE_LATENCY = Histogram(
    "botrader_collector_write_latency_seconds",
    "Seconds from receiving a closed candle to its committed row",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


def declare(series: list[tuple[str, str]]) -> None:
    """Export every labelled series at zero from the start, so rate() and alerts see a baseline
    instead of an absent series until the first event (Prometheus instrumentation practice)."""
    for symbol, interval in series:
        CANDLES_INGESTED.labels(symbol, interval)
        GAPS_FILLED.labels(symbol, interval)
        RECONNECTS.labels(symbol)
