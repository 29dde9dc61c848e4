"""PPO training (cleanrl-style), evaluation with the engine, MLflow tracking, Ray fan-out."""
