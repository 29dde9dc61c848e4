"""Reinforcement-learning support in the core: observation features, the vectorised
trading environment (accounting from the engine's arithmetic) and its gymnasium view."""
