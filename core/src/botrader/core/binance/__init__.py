"""Binance spot market-data protocol: REST klines and kline WebSocket streams."""
