"""Searches over a strategy's parameters (Optuna through Ray Tune) and their records (MLflow)."""
