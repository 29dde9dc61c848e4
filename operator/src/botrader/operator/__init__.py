"""Botrader's Kubernetes operator (Kopf): reconciles TradingBot and TrainingRun resources into
collectors, traders and training jobs, and keeps their status (`handlers` is Kopf's module)."""
