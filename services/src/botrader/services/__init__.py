"""Botrader's long-running services: market-data collector and backfill, paper trader, status
API and dashboard, and embedded mode (`botrader up`), which runs them in one process."""
