"""Candle files (CSV, gzipped CSV, parquet) and their conversions."""
