"""Judging results honestly: how likely a Sharpe is to be real given how many trials found it
(`sharpe`), how likely the way a search picks its best is to overfit (`pbo`), and the card
that turns both into a verdict and a gate for promotion (`card`)."""
