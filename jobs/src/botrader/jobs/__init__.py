"""Botrader batch jobs: backfill, dataset build, training, backtests."""
