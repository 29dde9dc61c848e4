"""Reinforcement learning: observation features, the vectorised trading environment (its
accounting is the engine's arithmetic) and its gymnasium view."""
