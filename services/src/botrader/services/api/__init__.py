"""Status API and dashboard page (FastAPI): read-only views of bots, candles, strategies,
models and the audit log, plus token-guarded control endpoints."""
