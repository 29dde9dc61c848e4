"""Botrader long-running services: market-data collector, paper trader, status API."""
