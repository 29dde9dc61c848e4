"""Botrader's batch jobs: feature datasets, the vectorised RL environment and PPO training
(tracked and registered in MLflow, parallel on Ray)."""
