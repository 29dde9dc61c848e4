"""The one trading engine: strategy → risk → execution → portfolio.

The backtester, the paper trader and the RL environment's accounting all run this code, so
a backtest and a paper run over the same candles make the same trades to the cent.
"""
